-- Fails (returns rows) for every order_id that appears more than once in stg_orders, whose grain is one row per order.

with

orders as (

    select * from {{ ref('stg_orders') }}

),

rows_per_order as (

    select
        order_id,
        count(*) as row_count

    from orders
    group by order_id

),

final as (

    select * from rows_per_order
    where row_count > 1

)

select * from final
