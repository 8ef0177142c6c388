with

raw_orders as (

    select * from raw.raw_orders

),

raw_events as (

    select * from raw.raw_events

),

raw_customers as (

    select * from raw.raw_customers

),

last_loads as (

    select 'raw_orders' as table_name, max(_loaded_at) as last_loaded_at from raw_orders
    union all
    select 'raw_events' as table_name, max(_loaded_at) as last_loaded_at from raw_events
    union all
    select 'raw_customers' as table_name, max(_loaded_at) as last_loaded_at from raw_customers

),

final as (

    select
        table_name,
        last_loaded_at,
        round(epoch(scenario_now() - last_loaded_at) / 3600, 1) as hours_since_load

    from last_loads

)

select * from final
