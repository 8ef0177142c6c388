with

completed_orders as (

    select * from {{ ref('int_completed_orders') }}

),

daily as (

    select
        order_date,
        count(*) as order_count,
        sum(amount) as revenue

    from completed_orders
    group by order_date

),

final as (

    select
        *,
        {{ dbt.current_timestamp() }} as updated_at

    from daily

)

select * from final
