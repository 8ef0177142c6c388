with

source as (

    select * from {{ source('acme', 'raw_customers') }}

),

final as (

    select
        customer_id,
        name as customer_name,
        lower(email) as email,
        signup_date,
        lower(region) as region,
        _loaded_at as loaded_at

    from source

)

select * from final
