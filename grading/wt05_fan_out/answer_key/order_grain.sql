with

orders as (

    select * from stg_orders

),

orders_mart as (

    select * from fct_orders

),

grains as (

    select
        'stg_orders' as model,
        count(*) as row_count,
        count(distinct order_id) as order_count

    from orders

    union all

    select
        'fct_orders' as model,
        count(*) as row_count,
        count(distinct order_id) as order_count

    from orders_mart

),

final as (

    select
        model,
        row_count,
        order_count,
        row_count - order_count as extra_rows

    from grains

)

select * from final
