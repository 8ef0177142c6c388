with

source as (

    select * from {{ source('acme', 'raw_finance_revenue') }}

),

final as (

    select
        revenue_date,
        cast(booked_revenue as decimal(12, 2)) as booked_revenue,
        booked_orders,
        _loaded_at as loaded_at

    from source

)

select * from final
