with

orders_mart as (

    select * from fct_orders

),

raw_orders as (

    select * from raw.raw_orders

),

final as (

    select
        (select count(*) from orders_mart) as fct_rows,
        (select count(distinct order_id) from orders_mart) as distinct_orders,
        (select count(*) from raw_orders) as raw_orders,
        (select sum(amount) from orders_mart) as amount_total,
        (select sum(items_total) from orders_mart) as items_total

)

select * from final
