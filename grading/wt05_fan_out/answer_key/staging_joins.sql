with

nodes as (

    select * from dbt_graph.nodes

),

edges as (

    select * from dbt_graph.edges

),

staging_models as (

    select name from nodes
    where resource_type = 'model' and folder = 'staging'

),

final as (

    select
        edges.child as model,
        count(*) as parents

    from edges
    inner join staging_models on edges.child = staging_models.name
    group by edges.child
    having count(*) > 1

)

select * from final
