with

orders as (

    select * from stg_orders

),

revenue_daily as (

    select * from fct_revenue_daily

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

    select * from staging_daily
    where order_date not in (select order_date from revenue_daily)

)

select * from final
