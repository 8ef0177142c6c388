with

runs as (

    select * from stg_pipeline_runs

),

runs_from_latest as (

    select
        run_id,
        duration_seconds,
        row_number() over (order by run_date desc) as runs_back

    from runs

),

latest_run as (

    select run_id, duration_seconds
    from runs_from_latest
    where runs_back = 1

),

seven_runs_before as (

    select avg(duration_seconds) as previous_avg
    from runs_from_latest
    where runs_back between 2 and 8

),

final as (

    select
        latest_run.run_id,
        latest_run.duration_seconds,
        round(seven_runs_before.previous_avg, 1) as previous_avg_seconds,
        round(latest_run.duration_seconds / seven_runs_before.previous_avg, 2) as slowdown

    from latest_run
    cross join seven_runs_before

)

select * from final
