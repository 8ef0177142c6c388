-- Fails (returns rows) when a mart was last rebuilt more than 25 hours before the scenario's "now".

with

revenue as (

    select 'fct_revenue_daily' as model_name, max(updated_at) as last_refreshed_at
    from {{ ref('fct_revenue_daily') }}

),

signups as (

    select 'fct_daily_signups' as model_name, max(updated_at) as last_refreshed_at
    from {{ ref('fct_daily_signups') }}

),

marts as (

    select * from revenue
    union all
    select * from signups

),

final as (

    select
        model_name,
        last_refreshed_at,
        date_diff('minute', last_refreshed_at, {{ dbt.current_timestamp() }}) / 60.0 as hours_stale

    from marts
    where last_refreshed_at < {{ dbt.current_timestamp() }} - interval 25 hour

)

select * from final
