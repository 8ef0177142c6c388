with

runs as (

    select * from stg_pipeline_runs

),

marts as (

    select name as model
    from dbt_graph.nodes
    where resource_type = 'model' and folder = 'marts'

),

selections as (

    select * from dbt_graph.selections

),

runs_per_mart as (

    select
        runs.run_id,
        runs.run_date,
        runs.finished_at,
        runs.status,
        marts.model,
        selections.name is not null as refreshes_mart

    from runs
    cross join marts
    left join selections
        on selections.selector = runs.models_run
        and selections.name = marts.model

),

with_last_refresh as (

    select
        *,
        max(case when refreshes_mart then run_date end) over (
            partition by model
            order by run_date
            rows between unbounded preceding and current row
        ) as last_refreshed_at

    from runs_per_mart

),

stale_runs as (

    select run_id, finished_at
    from with_last_refresh
    where finished_at > last_refreshed_at + interval 25 hour

),

successful_runs as (

    select
        *,
        avg(duration_seconds) over (
            order by run_date
            rows between 7 preceding and 1 preceding
        ) as baseline

    from runs
    where status = 'success'

),

anomalous_runs as (

    select run_id, finished_at
    from successful_runs
    where duration_seconds < 0.5 * baseline
        or duration_seconds > 2 * baseline

),

partial_runs as (

    select run_id, finished_at
    from runs_per_mart
    where status = 'success' and not refreshes_mart

),

firings as (

    select 'staleness' as check_name, * from stale_runs
    union all
    select 'duration' as check_name, * from anomalous_runs
    union all
    select 'coverage' as check_name, * from partial_runs

),

first_firings as (

    select
        check_name,
        arg_min(run_id, finished_at) as run_id,
        min(finished_at) as fired_at

    from firings
    group by check_name

),

final as (

    select
        check_name,
        run_id,
        fired_at,
        round(epoch(scenario_now() - fired_at) / 3600, 1) as hours_gained

    from first_firings

)

select * from final
