with

source as (

    select * from {{ source('acme', 'raw_order_items') }}

),

final as (

    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        cast(unit_price as decimal(10, 2)) as unit_price,
        cast(quantity * unit_price as decimal(12, 2)) as line_total,
        _loaded_at as loaded_at

    from source

)

select * from final
