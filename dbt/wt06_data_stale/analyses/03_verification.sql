-- WT-06 "The Data Is Stale": after the fix, prove the marts are healthy. Every step should say so.


-- step 1: each mart holds every day staging has, with the same numbers (recomputed from staging).

with

revenue_mart as (

    select * from {{ ref('fct_revenue_daily') }}

),

signups_mart as (

    select * from {{ ref('fct_daily_signups') }}

),

orders as (

    select * from {{ ref('stg_orders') }}

),

events as (

    select * from {{ ref('stg_events') }}

),

expected_revenue as (

    select
        order_date as day,
        count(*) as row_count,
        sum(amount) as amount

    from orders
    where status != 'returned'
    group by order_date

),

expected_signups as (

    select
        event_date as day,
        count(*) as row_count

    from events
    where event_type = 'signup'
    group by event_date

),

revenue_days as (

    select
        'fct_revenue_daily' as mart,
        count(*) as staging_days,
        count(revenue_mart.order_date) as mart_days,
        count(*) filter (
            where revenue_mart.order_count is distinct from expected_revenue.row_count
                or revenue_mart.revenue is distinct from expected_revenue.amount
        ) as mismatched_days

    from expected_revenue
    full outer join revenue_mart on expected_revenue.day = revenue_mart.order_date

),

signup_days as (

    select
        'fct_daily_signups' as mart,
        count(*) as staging_days,
        count(signups_mart.signup_date) as mart_days,
        count(*) filter (
            where signups_mart.signups is distinct from expected_signups.row_count
        ) as mismatched_days

    from expected_signups
    full outer join signups_mart on expected_signups.day = signups_mart.signup_date

),

final as (

    select * from revenue_days
    union all
    select * from signup_days

)

select * from final
order by mart;


-- step 2: each mart was rebuilt within the dashboard's SLA (25 hours, as tests/assert_freshness.sql).

with

revenue_mart as (

    select * from {{ ref('fct_revenue_daily') }}

),

signups_mart as (

    select * from {{ ref('fct_daily_signups') }}

),

refreshes as (

    select 'fct_revenue_daily' as mart, max(updated_at) as last_refreshed_at, max(order_date) as latest_day
    from revenue_mart
    union all
    select 'fct_daily_signups' as mart, max(updated_at) as last_refreshed_at, max(signup_date) as latest_day
    from signups_mart

),

final as (

    select
        mart,
        last_refreshed_at,
        latest_day,
        round(epoch({{ dbt.current_timestamp() }} - last_refreshed_at) / 3600, 1) as hours_since_refresh,
        last_refreshed_at >= {{ dbt.current_timestamp() }} - interval 25 hour as within_sla

    from refreshes

)

select * from final
order by mart;


-- step 3: the dashboard shows the weekend push again: revenue and signups per day since the last full run.

with

runs as (

    select * from {{ ref('stg_pipeline_runs') }}

),

revenue_mart as (

    select * from {{ ref('fct_revenue_daily') }}

),

signups_mart as (

    select * from {{ ref('fct_daily_signups') }}

),

last_full_run as (

    select cast(max(run_date) as date) as last_full_run_day from runs
    where includes_marts

),

days_since as (

    select revenue_mart.order_date as day, revenue_mart.order_count, revenue_mart.revenue
    from revenue_mart
    cross join last_full_run
    where revenue_mart.order_date > last_full_run.last_full_run_day

),

final as (

    select
        days_since.day,
        days_since.order_count,
        days_since.revenue,
        coalesce(signups_mart.signups, 0) as signups

    from days_since
    left join signups_mart on days_since.day = signups_mart.signup_date

)

select * from final
order by day;
