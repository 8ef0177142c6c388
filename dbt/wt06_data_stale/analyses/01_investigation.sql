-- WT-06 "The Data Is Stale": the investigation, one query per step, run in order.
-- Compile with `dbt compile` (the scenario clock sets "now"), then run each statement on the stale warehouse.


-- step 1: are the dashboard's tables behind the data they are built from?
-- The marts are tables, frozen at their last refresh; the staging views always show what raw holds now.

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

signup_events as (

    select * from events
    where event_type = 'signup'

),

revenue_dates as (

    select
        'fct_revenue_daily' as mart,
        (select max(order_date) from revenue_mart) as mart_max_date,
        (select max(order_date) from orders) as staging_max_date

),

signup_dates as (

    select
        'fct_daily_signups' as mart,
        (select max(signup_date) from signups_mart) as mart_max_date,
        (select max(event_date) from signup_events) as staging_max_date

),

dates as (

    select * from revenue_dates
    union all
    select * from signup_dates

),

final as (

    select
        *,
        date_diff('day', mart_max_date, staging_max_date) as days_behind

    from dates

)

select * from final;


-- step 2: how long ago did dbt last rebuild each mart? Check the data, not the orchestrator.

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

final as (

    select
        mart,
        last_refreshed_at,
        {{ dbt.current_timestamp() }} as checked_at,
        round(epoch({{ dbt.current_timestamp() }} - last_refreshed_at) / 3600, 1) as hours_stale

    from refreshes

)

select * from final;


-- step 3: the audit log, as the orchestrator reports it. Every run green, exit code 0: read every column.

with

runs as (

    select * from {{ ref('stg_pipeline_runs') }}

),

final as (

    select
        run_id,
        run_date,
        status,
        exit_code,
        models_run,
        duration_seconds

    from runs

)

select * from final
order by run_date;


-- step 4: the phantom successes: runs that reported success but whose selector never reached the marts.

with

runs as (

    select * from {{ ref('stg_pipeline_runs') }}

),

green_runs as (

    select * from runs
    where status = 'success' and exit_code = 0

),

phantoms as (

    select * from green_runs
    where not includes_marts

),

last_full_run as (

    select max(run_date) as last_full_run_at from runs
    where includes_marts

),

final as (

    select
        phantoms.run_id,
        phantoms.run_date,
        phantoms.models_run,
        phantoms.duration_seconds,
        row_number() over (order by phantoms.run_date) as phantom_number,
        round(epoch(phantoms.run_date - last_full_run.last_full_run_at) / 3600, 1) as hours_since_last_full_run

    from phantoms
    cross join last_full_run

)

select * from final
order by run_date;


-- step 5: the secondary signal: each run's duration against the average of the 7 days before it.

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
        duration_ratio,
        coalesce(duration_ratio < 0.5, false) as unusually_fast

    from runs

)

select * from final
order by run_date;


-- step 6: the blast radius: every mart the weekend's selector left behind, and the data it is missing.
-- dbt_graph holds what `dbt ls --select <selector>` lists; `staging.*+` is everything downstream of staging.

with

runs as (

    select * from {{ ref('stg_pipeline_runs') }}

),

selections as (

    select * from dbt_graph.selections

),

graph_nodes as (

    select * from dbt_graph.nodes

),

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

phantom_selectors as (

    select distinct models_run as selector from runs
    where not includes_marts

),

downstream_of_staging as (

    select name from selections
    where selector = 'staging.*+'

),

selected_by_phantoms as (

    select selections.name from selections
    inner join phantom_selectors on selections.selector = phantom_selectors.selector

),

left_out_marts as (

    select graph_nodes.name as mart from graph_nodes
    where graph_nodes.resource_type = 'model'
        and graph_nodes.name in (select name from downstream_of_staging)
        and graph_nodes.name not in (select name from selected_by_phantoms)

),

revenue_gap as (

    select
        'fct_revenue_daily' as mart,
        (select max(order_date) from revenue_mart) as frozen_through,
        count(distinct order_date) as days_missing,
        count(*) as rows_missing,
        sum(amount) as revenue_missing

    from orders
    where status != 'returned'
        and order_date > (select max(order_date) from revenue_mart)

),

signups_gap as (

    select
        'fct_daily_signups' as mart,
        (select max(signup_date) from signups_mart) as frozen_through,
        count(distinct event_date) as days_missing,
        count(*) as rows_missing,
        null::decimal(38, 2) as revenue_missing

    from events
    where event_type = 'signup'
        and event_date > (select max(signup_date) from signups_mart)

),

gaps as (

    select * from revenue_gap
    union all
    select * from signups_gap

),

final as (

    select gaps.* from gaps
    inner join left_out_marts on gaps.mart = left_out_marts.mart

)

select * from final
order by mart;


-- step 7: the tests the selector left out too, assert_freshness among them: the weekend's runs could not go red.

with

runs as (

    select * from {{ ref('stg_pipeline_runs') }}

),

selections as (

    select * from dbt_graph.selections

),

graph_nodes as (

    select * from dbt_graph.nodes

),

phantom_selectors as (

    select distinct models_run as selector from runs
    where not includes_marts

),

selected_by_phantoms as (

    select selections.name from selections
    inner join phantom_selectors on selections.selector = phantom_selectors.selector

),

final as (

    select
        name as test_name,
        folder

    from graph_nodes
    where resource_type = 'test'
        and name not in (select name from selected_by_phantoms)

)

select * from final
order by test_name;
