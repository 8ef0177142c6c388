-- Fails (returns rows) for every day finance has booked on which the revenue mart, the completed orders of the raw
-- table and finance's books disagree by more than a cent.

with

finance as (

    select * from {{ ref('stg_finance_revenue') }}

),

revenue_mart as (

    select * from {{ ref('fct_revenue_daily') }}

),

raw_orders as (

    select * from {{ source('acme', 'raw_orders') }}

),

raw_completed_orders as (

    select * from raw_orders
    where lower(status) = 'completed'

),

raw_daily as (

    select
        order_date,
        sum(amount) as raw_revenue

    from raw_completed_orders
    group by order_date

),

compared as (

    select
        finance.revenue_date,
        finance.booked_revenue,
        coalesce(raw_daily.raw_revenue, 0) as raw_revenue,
        coalesce(revenue_mart.revenue, 0) as mart_revenue

    from finance
    left join raw_daily
        on finance.revenue_date = raw_daily.order_date
    left join revenue_mart
        on finance.revenue_date = revenue_mart.order_date

),

final as (

    select * from compared
    where abs(mart_revenue - booked_revenue) > 0.01
        or abs(raw_revenue - booked_revenue) > 0.01
        or abs(mart_revenue - raw_revenue) > 0.01

)

select * from final
