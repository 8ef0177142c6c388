with

finance as (

    select * from stg_finance_revenue

),

mart as (

    select * from fct_revenue_daily

),

compared as (

    select
        finance.revenue_date,
        coalesce(mart.revenue, 0) as mart_revenue,
        finance.booked_revenue as finance_revenue

    from finance
    left join mart
        on mart.order_date = finance.revenue_date

),

final as (

    select
        revenue_date,
        mart_revenue,
        finance_revenue,
        mart_revenue - finance_revenue as difference,
        case when abs(mart_revenue - finance_revenue) <= 0.01 then 'ok' else 'mismatch' end as verdict

    from compared

)

select * from final
