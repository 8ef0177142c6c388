"""The graded questions of wt06_data_stale ("The Data Is Stale"), one block per notebook.

Every reference is one query that reads only the warehouse, so the hidden tests can run it, and the
student's answer, on the variant warehouse (same incident, other dates, amounts and counts).
"""

from __future__ import annotations

from incidentlab.checking import Question

MODULE = "wt06_data_stale"

# ---------------------------------------------------------------------------------------------------------------
# 01_detect: check the data, not the dashboard
# ---------------------------------------------------------------------------------------------------------------

staging_vs_mart = Question(
    module=MODULE,
    name="staging_vs_mart",
    title="Marts vs staging: latest dates",
    hint="Staging's signup dates are the event_date of stg_events rows with event_type 'signup'. "
         "Subtracting two dates in DuckDB gives a number of days.",
    reference="""
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
""",
)

hours_stale = Question(
    module=MODULE,
    name="hours_stale",
    title="Hours stale at the scenario's now",
    hint="Use scenario_now(), not now(). epoch(a - b) is the number of seconds between two timestamps; "
         "date_diff('hour', ...) counts hour boundaries and would lose the minutes.",
    reference="""
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
""",
)

raw_load_age = Question(
    module=MODULE,
    name="raw_load_age",
    title="How fresh is the raw data?",
    hint="The raw tables are in schema raw (raw.raw_orders, ...); _loaded_at is when ingestion landed each row.",
    reference="""
with

raw_orders as (

    select * from raw.raw_orders

),

raw_events as (

    select * from raw.raw_events

),

raw_customers as (

    select * from raw.raw_customers

),

last_loads as (

    select 'raw_orders' as table_name, max(_loaded_at) as last_loaded_at from raw_orders
    union all
    select 'raw_events' as table_name, max(_loaded_at) as last_loaded_at from raw_events
    union all
    select 'raw_customers' as table_name, max(_loaded_at) as last_loaded_at from raw_customers

),

final as (

    select
        table_name,
        last_loaded_at,
        round(epoch(scenario_now() - last_loaded_at) / 3600, 1) as hours_since_load

    from last_loads

)

select * from final
""",
)

# ---------------------------------------------------------------------------------------------------------------
# 02_read_the_logs: the audit log looks clean, models_run does not
# ---------------------------------------------------------------------------------------------------------------

run_health = Question(
    module=MODULE,
    name="run_health",
    title="What the orchestrator saw",
    hint="Group the audit log (raw.raw_pipeline_runs) by status and exit_code; max(run_date) is the latest run.",
    reference="""
with

runs as (

    select * from raw.raw_pipeline_runs

),

final as (

    select
        status,
        exit_code,
        count(*) as runs,
        max(run_date) as last_run_at

    from runs
    group by status, exit_code

)

select * from final
""",
)

selectors_used = Question(
    module=MODULE,
    name="selectors_used",
    title="Which selectors the runs used",
    hint="arg_min(run_id, run_date) is the run_id of the earliest run of a group; arg_max the latest.",
    reference="""
with

runs as (

    select * from raw.raw_pipeline_runs

),

final as (

    select
        models_run,
        count(*) as runs,
        arg_min(run_id, run_date) as first_run_id,
        arg_max(run_id, run_date) as last_run_id

    from runs
    group by models_run

)

select * from final
""",
)

selector_change = Question(
    module=MODULE,
    name="selector_change",
    title="When the selector changed",
    hint="lag(models_run) over (order by run_date) is the previous run's selector; the first run has none.",
    reference="""
with

runs as (

    select * from raw.raw_pipeline_runs

),

with_previous as (

    select
        run_id,
        run_date,
        lag(models_run) over (order by run_date) as previous_models_run,
        models_run

    from runs

),

final as (

    select * from with_previous
    where models_run != previous_models_run

)

select * from final
""",
)

# ---------------------------------------------------------------------------------------------------------------
# 03_phantom_successes: count them, date them, and the duration signal
# ---------------------------------------------------------------------------------------------------------------

phantom_count = Question(
    module=MODULE,
    name="phantom_count",
    title="How many phantom successes",
    hint="stg_pipeline_runs.includes_marts says whether a run's selector reaches the marts.",
    reference="""
with

runs as (

    select * from stg_pipeline_runs

),

green as (

    select * from runs
    where status = 'success' and exit_code = 0

),

final as (

    select
        count(*) as green_runs,
        count(*) filter (where not includes_marts) as phantom_runs

    from green

)

select * from final
""",
)

last_good_first_bad = Question(
    module=MODULE,
    name="last_good_first_bad",
    title="The last good run and the first bad one",
    hint="stg_pipeline_runs has finished_at (run_date + duration) and includes_marts.",
    reference="""
with

runs as (

    select * from stg_pipeline_runs

),

last_good as (

    select
        run_id as last_good_run,
        finished_at as last_good_finished_at,
        run_date as last_good_started_at

    from runs
    where includes_marts
    order by run_date desc
    limit 1

),

first_bad as (

    select
        runs.run_id as first_bad_run,
        runs.run_date as first_bad_started_at

    from runs
    cross join last_good
    where not runs.includes_marts and runs.run_date > last_good.last_good_started_at
    order by runs.run_date
    limit 1

),

final as (

    select
        last_good.last_good_run,
        last_good.last_good_finished_at,
        first_bad.first_bad_run,
        first_bad.first_bad_started_at

    from last_good
    cross join first_bad

)

select * from final
""",
)

duration_signal = Question(
    module=MODULE,
    name="duration_signal",
    title="The duration signal of the first phantom run",
    hint="stg_pipeline_runs.trailing_avg_duration_7d is the average duration of the runs that started in the "
         "7 days before each run.",
    reference="""
with

runs as (

    select * from stg_pipeline_runs

),

first_phantom as (

    select * from runs
    where not includes_marts
    order by run_date
    limit 1

),

final as (

    select
        run_id,
        duration_seconds,
        round(trailing_avg_duration_7d, 1) as trailing_avg_seconds,
        round(duration_seconds / trailing_avg_duration_7d, 2) as duration_ratio

    from first_phantom

)

select * from final
""",
)

fast_runs = Question(
    module=MODULE,
    name="fast_runs",
    title="Runs faster than half their healthy baseline",
    hint="A window can average only some rows: inside avg(...) over (...), a case expression can keep the "
         "durations of the full runs and give null for the others; take the window frame from stg_pipeline_runs.",
    reference="""
with

runs as (

    select * from stg_pipeline_runs

),

with_baseline as (

    select
        run_id,
        run_date,
        duration_seconds,
        avg(case when includes_marts then duration_seconds end) over (
            order by run_date
            range between interval 7 days preceding and current row
            exclude current row
        ) as baseline

    from runs

),

final as (

    select
        run_id,
        duration_seconds,
        round(baseline, 1) as baseline_seconds,
        round(duration_seconds / baseline, 2) as ratio

    from with_baseline
    where duration_seconds < 0.5 * baseline

)

select * from final
""",
)

# ---------------------------------------------------------------------------------------------------------------
# 04_blast_radius: what the selector skipped, and what data the marts are missing
# ---------------------------------------------------------------------------------------------------------------

skipped_marts = Question(
    module=MODULE,
    name="skipped_marts",
    title="The marts the runs skipped",
    hint="Join the audit log's models_run to dbt_graph.selections.selector; the marts are the dbt_graph.nodes "
         "with resource_type 'model' and folder 'marts'. A mart is skipped by a run when the run's selection "
         "does not hold it.",
    reference="""
with

runs as (

    select * from raw.raw_pipeline_runs

),

nodes as (

    select * from dbt_graph.nodes

),

selections as (

    select * from dbt_graph.selections

),

marts as (

    select name from nodes
    where resource_type = 'model' and folder = 'marts'

),

run_mart_pairs as (

    select
        runs.run_id,
        runs.run_date,
        marts.name as model,
        selections.name is not null as selected

    from runs
    cross join marts
    left join selections
        on selections.selector = runs.models_run
        and selections.name = marts.name

),

per_mart as (

    select
        model,
        count(*) filter (where not selected) as runs_skipped,
        max(run_date) filter (where selected) as last_selected_at

    from run_mart_pairs
    group by model

),

final as (

    select * from per_mart
    where runs_skipped > 0

)

select * from final
""",
)

missing_revenue = Question(
    module=MODULE,
    name="missing_revenue",
    title="Revenue days the mart is missing",
    hint="The mart leaves out returned orders. An anti join (or `where ... not in`) finds the dates the mart "
         "lacks.",
    reference="""
with

orders as (

    select * from stg_orders

),

revenue_daily as (

    select * from fct_revenue_daily

),

staging_daily as (

    select
        order_date,
        count(*) as order_count,
        sum(amount) as revenue

    from orders
    where status != 'returned'
    group by order_date

),

final as (

    select * from staging_daily
    where order_date not in (select order_date from revenue_daily)

)

select * from final
""",
)

missing_signups = Question(
    module=MODULE,
    name="missing_signups",
    title="Signup days the mart is missing",
    hint="Signups are stg_events rows with event_type 'signup'.",
    reference="""
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
""",
)

# ---------------------------------------------------------------------------------------------------------------
# 05_fix_prevent_verify: after `%dbt run --select marts.*`
# ---------------------------------------------------------------------------------------------------------------

verify_marts = Question(
    module=MODULE,
    name="verify_marts",
    title="The marts after the fix",
    stage="fixed",
    hint="The same measures as in notebook 1: latest date in the mart and in staging, hours since the refresh.",
    reference="""
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
""",
)

selector_coverage = Question(
    module=MODULE,
    name="selector_coverage",
    title="Selector coverage: the marts each selector leaves out",
    stage="fixed",
    hint="Cross join the selectors with the mart models, then keep the pairs missing from dbt_graph.selections.",
    reference="""
with

nodes as (

    select * from dbt_graph.nodes

),

selections as (

    select * from dbt_graph.selections

),

selectors as (

    select distinct selector from selections

),

marts as (

    select name from nodes
    where resource_type = 'model' and folder = 'marts'

),

every_pair as (

    select selectors.selector, marts.name as model
    from selectors
    cross join marts

),

final as (

    select every_pair.selector, every_pair.model
    from every_pair
    left join selections
        on every_pair.selector = selections.selector
        and every_pair.model = selections.name
    where selections.name is null

)

select * from final
""",
)

gate_tests = Question(
    module=MODULE,
    name="gate_tests",
    title="The mart tests `dbt build --select staging.*` never runs",
    stage="fixed",
    hint="dbt_graph.edges links each test (child) to the models it reads (parent).",
    reference="""
with

nodes as (

    select * from dbt_graph.nodes

),

edges as (

    select * from dbt_graph.edges

),

selections as (

    select * from dbt_graph.selections

),

marts as (

    select name from nodes
    where resource_type = 'model' and folder = 'marts'

),

tests as (

    select name from nodes
    where resource_type = 'test'

),

mart_tests as (

    select distinct edges.child as test_name
    from edges
    inner join marts on edges.parent = marts.name
    inner join tests on edges.child = tests.name

),

staging_selection as (

    select name from selections
    where selector = 'staging.*'

),

final as (

    select test_name from mart_tests
    where test_name not in (select name from staging_selection)

)

select * from final
""",
)

detection_lead = Question(
    module=MODULE,
    name="detection_lead",
    title="How much earlier each check would have caught it",
    stage="fixed",
    hint="Build one row per check with its detection time, then union them. For the freshness rule, the marts' "
         "last refresh at a run is the start (run_date) of the latest run that reached the marts, at or before "
         "it: max(case when includes_marts then run_date end) over (order by run_date).",
    reference="""
with

runs as (

    select * from stg_pipeline_runs

),

with_mart_refresh as (

    select
        *,
        max(case when includes_marts then run_date end) over (
            order by run_date
            rows between unbounded preceding and current row
        ) as marts_refreshed_at

    from runs

),

models_run_check as (

    select 'models_run' as check_name, min(finished_at) as detected_at
    from runs
    where not includes_marts

),

duration_check as (

    select 'duration_ratio' as check_name, min(finished_at) as detected_at
    from runs
    where duration_ratio < 0.5

),

freshness_check as (

    select 'freshness_25h' as check_name, min(finished_at) as detected_at
    from with_mart_refresh
    where finished_at > marts_refreshed_at + interval 25 hour

),

checks as (

    select * from models_run_check
    union all
    select * from duration_check
    union all
    select * from freshness_check

),

final as (

    select
        check_name,
        detected_at,
        round(epoch(scenario_now() - detected_at) / 3600, 1) as hours_before_ceo

    from checks

)

select * from final
""",
)

QUESTIONS = [value for value in list(globals().values()) if isinstance(value, Question)]
