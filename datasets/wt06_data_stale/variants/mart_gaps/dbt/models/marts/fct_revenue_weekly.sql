with

revenue_daily as (

    select * from {{ ref('fct_revenue_daily') }}

),

weekly as (

    select
        date_trunc('week', order_date) as week_start,
        sum(order_count) as order_count,
        sum(revenue) as revenue

    from revenue_daily
    group by date_trunc('week', order_date)

),

final as (

    select
        *,
        {{ dbt.current_timestamp() }} as updated_at

    from weekly

)

select * from final
