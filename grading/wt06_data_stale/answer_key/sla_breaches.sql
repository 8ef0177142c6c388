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

final as (

    select
        run_id,
        model,
        last_refreshed_at,
        round(epoch(finished_at - last_refreshed_at) / 3600, 1) as hours_stale

    from with_last_refresh
    where finished_at > last_refreshed_at + interval 25 hour

)

select * from final
