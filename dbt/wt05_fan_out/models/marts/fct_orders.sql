with

orders as (

    select * from {{ ref('stg_orders') }}

),

customers as (

    select * from {{ ref('stg_customers') }}

),

orders_with_customers as (

    select
        orders.order_id,
        orders.customer_id,
        customers.customer_name,
        customers.region,
        orders.order_date,
        cast(date_trunc('week', orders.order_date) as date) as order_week,
        orders.status,
        orders.amount,
        orders.quantity,
        orders.unit_price

    from orders
    left join customers
        on orders.customer_id = customers.customer_id

),

final as (

    select
        *,
        {{ dbt.current_timestamp() }} as updated_at

    from orders_with_customers

)

select * from final
