with recursive

deploys as (

    select * from stg_deploys

),

runs as (

    select * from stg_pipeline_runs

),

edges as (

    select * from dbt_graph.edges

),

upstream as (

    select parent as name
    from edges
    where child = 'fct_revenue_daily'

    union

    select edges.parent as name
    from edges
    inner join upstream on edges.child = upstream.name

),

runs_from_latest as (

    select
        run_date,
        row_number() over (order by run_date desc) as runs_back

    from runs

),

incident_window as (

    select
        max(case when runs_back = 2 then run_date end) as window_start,
        max(case when runs_back = 1 then run_date end) as window_end

    from runs_from_latest

),

final as (

    select
        deploys.pr_number,
        deploys.title,
        deploys.models_changed

    from deploys
    cross join incident_window
    where deploys.deployed_at > incident_window.window_start
        and deploys.deployed_at < incident_window.window_end
        and deploys.models_changed in (select name from upstream)

)

select * from final
