with

revenue_daily as (

    select * from fct_revenue_daily

),

daily_signups as (

    select * from fct_daily_signups

),

refreshes as (

    select 'fct_revenue_daily' as model, max(updated_at) as last_refreshed_at from revenue_daily
    union all
    select 'fct_daily_signups' as model, max(updated_at) as last_refreshed_at from daily_signups

),

final as (

    select
        model,
        last_refreshed_at,
        round(epoch(scenario_now() - last_refreshed_at) / 3600, 1) as hours_stale

    from refreshes

)

select * from final
