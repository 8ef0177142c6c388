-- WT-06 "The Data Is Stale": the fix, and the checks that keep it from happening again.
--
-- Fix 1, the orchestrator: its command goes back from `dbt run --select staging.*` to `dbt run` with no
--   selector; better, `dbt build`: every model, then every test, assert_freshness included.
--   A partial selector in production must name the marts it is meant to refresh.
-- Fix 2, the catch-up: `dbt run --select marts.*` rebuilds the frozen marts from staging right away
--   (what `incidentlab build --stage fixed` replays). Nothing was lost: raw and staging held every row.
-- Fix 3, data health separate from pipeline health: the queries below, scheduled after every run,
--   with `dbt source freshness` on the dashboard's tables (models/marts/src_dashboard.yml) and the singular
--   test tests/assert_freshness.sql in the same job.


-- step 1: the post-run gate: does the latest run's selector reach every mart? Fail the job when it does not.

with

runs as (

    select * from {{ ref('stg_pipeline_runs') }}

),

latest_run as (

    select * from runs
    order by run_date desc
    limit 1

),

final as (

    select
        run_id,
        run_date,
        models_run,
        includes_marts,
        case
            when includes_marts then 'ok'
            else 'fail: the selector ' || models_run || ' does not reach the marts'
        end as gate

    from latest_run

)

select * from final;


-- step 2: mart freshness against the dashboard's SLA, the thresholds of models/marts/src_dashboard.yml.

with

revenue_mart as (

    select * from {{ ref('fct_revenue_daily') }}

),

signups_mart as (

    select * from {{ ref('fct_daily_signups') }}

),

refreshes as (

    select 'fct_revenue_daily' as mart, max(updated_at) as last_refreshed_at from revenue_mart
    union all
    select 'fct_daily_signups' as mart, max(updated_at) as last_refreshed_at from signups_mart

),

ages as (

    select
        *,
        epoch({{ dbt.current_timestamp() }} - last_refreshed_at) / 3600 as hours_since_refresh

    from refreshes

),

final as (

    select
        mart,
        last_refreshed_at,
        round(hours_since_refresh, 1) as hours_since_refresh,
        case
            when hours_since_refresh > 25 then 'error'
            when hours_since_refresh > 13 then 'warn'
            else 'ok'
        end as freshness

    from ages

)

select * from final
order by mart;


-- step 3: the business check: does the revenue dashboard show yesterday? Orders land every evening.

with

revenue_mart as (

    select * from {{ ref('fct_revenue_daily') }}

),

latest_day as (

    select
        max(order_date) as latest_order_date,
        cast({{ dbt.current_timestamp() }} as date) - 1 as yesterday

    from revenue_mart

),

final as (

    select
        latest_order_date,
        yesterday,
        date_diff('day', latest_order_date, yesterday) as days_missing,
        case when latest_order_date >= yesterday then 'ok' else 'error' end as dashboard_check

    from latest_day

)

select * from final;


-- step 4: the duration alert: a "successful" run far shorter than the runs of the week before.

with

runs as (

    select * from {{ ref('stg_pipeline_runs') }}

),

final as (

    select
        run_id,
        run_date,
        models_run,
        duration_seconds,
        round(trailing_avg_duration_7d, 1) as trailing_avg_duration_7d,
        duration_ratio

    from runs
    where duration_ratio < 0.5

)

select * from final
order by run_date;
