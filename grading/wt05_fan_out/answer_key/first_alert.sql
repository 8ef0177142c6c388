with

runs as (

    select * from stg_pipeline_runs

),

orders as (

    select * from raw.raw_orders

),

order_items as (

    select * from raw.raw_order_items

),

finance as (

    select * from stg_finance_revenue

),

join_deployed as (

    select max(deployed_at) as deployed_at
    from stg_deploys
    where models_changed = 'stg_orders'

),

orders_at_run as (

    select
        runs.run_id,
        orders.order_id,
        orders.order_date,
        orders.amount,
        lower(orders.status) as status,
        runs.run_date > join_deployed.deployed_at as joined

    from runs
    cross join join_deployed
    inner join orders
        on orders._loaded_at <= runs.run_date

),

lines_at_run as (

    select
        runs.run_id,
        order_items.order_id,
        count(*) as lines

    from runs
    inner join order_items
        on order_items._loaded_at <= runs.run_date
    group by runs.run_id, order_items.order_id

),

stg_orders_at_run as (

    select
        orders_at_run.*,
        case when joined then coalesce(lines_at_run.lines, 1) else 1 end as stg_rows

    from orders_at_run
    left join lines_at_run
        on lines_at_run.run_id = orders_at_run.run_id
        and lines_at_run.order_id = orders_at_run.order_id

),

grain_runs as (

    select run_id
    from stg_orders_at_run
    group by run_id
    having sum(stg_rows) > count(*)

),

mart_at_run as (

    select
        run_id,
        order_date,
        sum(amount * stg_rows) as revenue

    from stg_orders_at_run
    where status = 'completed'
    group by run_id, order_date

),

reconciliation_runs as (

    select distinct runs.run_id
    from runs
    inner join finance
        on finance.loaded_at <= runs.finished_at
    left join mart_at_run
        on mart_at_run.run_id = runs.run_id
        and mart_at_run.order_date = finance.revenue_date
    where abs(coalesce(mart_at_run.revenue, 0) - finance.booked_revenue) > 0.01

),

successful_runs as (

    select
        *,
        avg(duration_seconds) over (
            order by run_date
            rows between 7 preceding and 1 preceding
        ) as baseline

    from runs
    where status = 'success'

),

duration_runs as (

    select run_id
    from successful_runs
    where duration_seconds < 0.5 * baseline
        or duration_seconds > 2 * baseline

),

firings as (

    select 'grain' as check_name, run_id from grain_runs
    union all
    select 'reconciliation' as check_name, run_id from reconciliation_runs
    union all
    select 'duration' as check_name, run_id from duration_runs

),

first_firings as (

    select
        firings.check_name,
        arg_min(runs.run_id, runs.finished_at) as run_id,
        min(runs.finished_at) as fired_at

    from firings
    inner join runs
        on runs.run_id = firings.run_id
    group by firings.check_name

),

final as (

    select
        check_name,
        run_id,
        fired_at,
        round(epoch(scenario_now() - fired_at) / 3600, 1) as hours_gained

    from first_firings

)

select * from final
