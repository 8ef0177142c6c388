-- The completed orders (returned ones left out), with the region of their customer.

with

orders as (

    select * from {{ ref('stg_orders') }}

),

customer_orders as (

    select * from {{ ref('stg_customer_orders') }}

),

completed_orders as (

    select
        orders.*,
        customer_orders.region

    from orders
    left join customer_orders
        on orders.order_id = customer_orders.order_id
    where orders.status = 'completed'

)

select * from completed_orders
