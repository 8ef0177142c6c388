with

orders as (

    select * from {{ ref('stg_orders') }}

),

order_items as (

    select * from {{ ref('stg_order_items') }}

),

customers as (

    select * from {{ ref('stg_customers') }}

),

-- one row per order before the join, so that the join keeps the grain of orders
order_items_summary as (

    select
        order_id,
        count(*) as item_count,
        sum(quantity) as quantity,
        sum(line_total) as items_total

    from order_items
    group by order_id

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
        order_items_summary.item_count,
        order_items_summary.quantity,
        order_items_summary.items_total

    from orders
    left join customers
        on orders.customer_id = customers.customer_id
    left join order_items_summary
        on orders.order_id = order_items_summary.order_id

),

final as (

    select
        *,
        {{ dbt.current_timestamp() }} as updated_at

    from orders_with_customers

)

select * from final
