with

source as (

    select * from {{ source('acme', 'raw_orders') }}

),

order_items as (

    select * from {{ source('acme', 'raw_order_items') }}

),

renamed as (

    select
        order_id,
        customer_id,
        order_date,
        cast(amount as decimal(10, 2)) as amount,
        lower(status) as status,
        _loaded_at as loaded_at

    from source

),

-- item detail (quantity, unit price) for the orders dashboard
final as (

    select
        renamed.*,
        order_items.quantity,
        cast(order_items.unit_price as decimal(10, 2)) as unit_price

    from renamed
    left join order_items
        on renamed.order_id = order_items.order_id

)

select * from final
