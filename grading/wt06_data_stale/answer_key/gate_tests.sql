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
