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

revenue_check as (

    select
        'fct_revenue_daily' as model,
        (select max(order_date) from revenue_daily) as max_date,
        (select max(order_date) from orders) as staging_max_date,
        (select max(updated_at) from revenue_daily) as last_refreshed_at

),

signups_check as (

    select
        'fct_daily_signups' as model,
        (select max(signup_date) from daily_signups) as max_date,
        (select max(event_date) from events where event_type = 'signup') as staging_max_date,
        (select max(updated_at) from daily_signups) as last_refreshed_at

),

both_marts as (

    select * from revenue_check
    union all
    select * from signups_check

),

final as (

    select
        model,
        max_date,
        staging_max_date,
        round(epoch(scenario_now() - last_refreshed_at) / 3600, 1) as hours_since_refresh

    from both_marts

)

select * from final
