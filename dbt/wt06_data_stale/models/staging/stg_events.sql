with

source as (

    select * from {{ source('acme', 'raw_events') }}

),

final as (

    select
        event_id,
        customer_id,
        lower(event_type) as event_type,
        event_date,
        properties,
        _loaded_at as loaded_at

    from source

)

select * from final
