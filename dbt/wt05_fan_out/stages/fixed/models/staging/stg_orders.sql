with

source as (

    select * from {{ source('acme', 'raw_orders') }}

),

final as (

    select
        order_id,
        customer_id,
        order_date,
        cast(amount as decimal(10, 2)) as amount,
        lower(status) as status,
        _loaded_at as loaded_at

    from source

)

select * from final
