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
