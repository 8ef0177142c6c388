with recursive

nodes as (

    select * from dbt_graph.nodes

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

final as (

    select
        nodes.name,
        nodes.resource_type

    from upstream
    inner join nodes on upstream.name = nodes.name

)

select * from final
