with

finance as (

    select * from stg_finance_revenue

),

revenue_daily as (

    select * from fct_revenue_daily

),

final as (

    select
        finance.revenue_date,
        revenue_daily.revenue as dashboard_revenue,
        finance.booked_revenue as finance_revenue,
        round(cast(revenue_daily.revenue as double) / cast(finance.booked_revenue as double), 2) as ratio

    from finance
    left join revenue_daily
        on finance.revenue_date = revenue_daily.order_date

)

select * from final
