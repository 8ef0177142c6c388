with

runs as (

    select * from stg_pipeline_runs

),

green_runs as (

    select * from runs
    where status = 'success'

),

marts as (

    select name as model
    from dbt_graph.nodes
    where resource_type = 'model' and folder = 'marts'

),

selections as (

    select * from dbt_graph.selections

),

left_out as (

    select
        green_runs.run_id,
        green_runs.finished_at,
        green_runs.models_run,
        marts.model

    from green_runs
    cross join marts
    where not exists (
        select 1
        from selections
        where selections.selector = green_runs.models_run
            and selections.name = marts.model
    )

),

final as (

    select
        run_id,
        finished_at,
        models_run,
        count(*) as marts_left_out

    from left_out
    group by run_id, finished_at, models_run

)

select * from final
