with

stg_orders as (

    select * from stg_orders

),

fct_orders as (

    select * from fct_orders

),

fct_revenue_daily as (

    select * from fct_revenue_daily

),

counts as (

    select 'stg_orders' as model, count(*) as row_count, count(distinct order_id) as key_count
    from stg_orders
    union all
    select 'fct_orders' as model, count(*) as row_count, count(distinct order_id) as key_count
    from fct_orders
    union all
    select 'fct_revenue_daily' as model, count(*) as row_count, count(distinct order_date) as key_count
    from fct_revenue_daily

),

final as (

    select
        model,
        row_count,
        key_count,
        round(row_count / key_count, 2) as rows_per_key,
        row_count = key_count as grain_ok

    from counts

)

select * from final
