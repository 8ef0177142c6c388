with recursive

nodes as (

    select * from dbt_graph.nodes

),

edges as (

    select * from dbt_graph.edges

),

downstream as (

    select child as name
    from edges
    where parent = 'stg_orders'

    union

    select edges.child as name
    from edges
    inner join downstream on edges.parent = downstream.name

),

final as (

    select
        nodes.name,
        nodes.resource_type

    from downstream
    inner join nodes on downstream.name = nodes.name
    where nodes.resource_type != 'test'

)

select * from final
