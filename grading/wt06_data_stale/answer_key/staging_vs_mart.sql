with

revenue_daily as (

    select * from fct_revenue_daily

),

daily_signups as (

    select * from fct_daily_signups

),

orders as (

    select * from stg_orders

),

events as (

    select * from stg_events

),

revenue_latest as (

    select
        'fct_revenue_daily' as model,
        (select max(order_date) from revenue_daily) as mart_max_date,
        (select max(order_date) from orders) as staging_max_date

),

signups_latest as (

    select
        'fct_daily_signups' as model,
        (select max(signup_date) from daily_signups) as mart_max_date,
        (select max(event_date) from events where event_type = 'signup') as staging_max_date

),

both_marts as (

    select * from revenue_latest
    union all
    select * from signups_latest

),

final as (

    select
        model,
        mart_max_date,
        staging_max_date,
        staging_max_date - mart_max_date as days_behind

    from both_marts

)

select * from final
