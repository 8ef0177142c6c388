with

finance as (

    select * from stg_finance_revenue

),

revenue_daily as (

    select * from fct_revenue_daily

),

compared as (

    select
        finance.revenue_date,
        coalesce(revenue_daily.revenue = finance.booked_revenue
            and revenue_daily.order_count = finance.booked_orders, false) as matches,
        abs(coalesce(revenue_daily.revenue, 0) - finance.booked_revenue) as difference

    from finance
    left join revenue_daily
        on finance.revenue_date = revenue_daily.order_date

),

final as (

    select
        count(*) as days_compared,
        count(*) filter (where matches) as days_matching,
        max(difference) as max_difference

    from compared

)

select * from final
