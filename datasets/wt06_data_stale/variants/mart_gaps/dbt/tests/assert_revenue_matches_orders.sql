-- Fails (returns rows) when a day of the revenue mart disagrees with the kept orders staging has for that day.

with

revenue_daily as (

    select * from {{ ref('fct_revenue_daily') }}

),

orders as (

    select * from {{ ref('stg_orders') }}

),

staging_daily as (

    select
        order_date,
        count(*) as order_count,
        sum(amount) as revenue

    from orders
    where status != 'returned'
    group by order_date

),

final as (

    select revenue_daily.*
    from revenue_daily
    left join staging_daily on revenue_daily.order_date = staging_daily.order_date
    where staging_daily.order_date is null
        or revenue_daily.order_count != staging_daily.order_count
        or revenue_daily.revenue != staging_daily.revenue

)

select * from final
