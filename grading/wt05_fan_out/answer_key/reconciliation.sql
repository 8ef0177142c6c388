with

finance as (

    select * from stg_finance_revenue

),

revenue_daily as (

    select * from fct_revenue_daily

),

raw_orders as (

    select * from raw.raw_orders

),

raw_revenue_by_day as (

    select
        order_date,
        sum(amount) as raw_revenue

    from raw_orders
    where status = 'completed'
    group by order_date

),

compared as (

    select
        finance.revenue_date,
        revenue_daily.revenue as mart_revenue,
        coalesce(raw_revenue_by_day.raw_revenue, 0) as raw_revenue,
        finance.booked_revenue as finance_revenue

    from finance
    left join revenue_daily
        on finance.revenue_date = revenue_daily.order_date
    left join raw_revenue_by_day
        on finance.revenue_date = raw_revenue_by_day.order_date

),

final as (

    select * from compared
    where mart_revenue is null
        or abs(mart_revenue - raw_revenue) > 0.01
        or abs(mart_revenue - finance_revenue) > 0.01
        or abs(raw_revenue - finance_revenue) > 0.01

)

select * from final
