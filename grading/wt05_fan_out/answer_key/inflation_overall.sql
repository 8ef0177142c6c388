with

finance as (

    select * from stg_finance_revenue

),

revenue_daily as (

    select * from fct_revenue_daily

),

totals as (

    select
        sum(revenue_daily.revenue) as dashboard_total,
        sum(finance.booked_revenue) as finance_total

    from finance
    left join revenue_daily
        on finance.revenue_date = revenue_daily.order_date

),

final as (

    select
        dashboard_total,
        finance_total,
        round(cast(dashboard_total as double) / cast(finance_total as double), 2) as inflation

    from totals

)

select * from final
