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
