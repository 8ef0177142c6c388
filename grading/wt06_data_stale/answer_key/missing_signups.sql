with

events as (

    select * from stg_events

),

daily_signups as (

    select * from fct_daily_signups

),

staging_daily as (

    select
        event_date as signup_date,
        count(*) as signups

    from events
    where event_type = 'signup'
    group by event_date

),

final as (

    select * from staging_daily
    where signup_date not in (select signup_date from daily_signups)

)

select * from final
