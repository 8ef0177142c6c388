-- Each order with its customer's region, for the regional revenue split: a join of two sources inside staging.

with

orders as (

    select * from {{ source('acme', 'raw_orders') }}

),

customers as (

    select * from {{ source('acme', 'raw_customers') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        lower(customers.region) as region,
        orders._loaded_at as loaded_at

    from orders
    left join customers
        on orders.customer_id = customers.customer_id

)

select * from final
