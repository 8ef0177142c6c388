with

runs as (

    select * from stg_pipeline_runs

),

last_good as (

    select
        run_id as last_good_run,
        finished_at as last_good_finished_at,
        run_date as last_good_started_at

    from runs
    where includes_marts
    order by run_date desc
    limit 1

),

first_bad as (

    select
        runs.run_id as first_bad_run,
        runs.run_date as first_bad_started_at

    from runs
    cross join last_good
    where not runs.includes_marts and runs.run_date > last_good.last_good_started_at
    order by runs.run_date
    limit 1

),

final as (

    select
        last_good.last_good_run,
        last_good.last_good_finished_at,
        first_bad.first_bad_run,
        first_bad.first_bad_started_at

    from last_good
    cross join first_bad

)

select * from final
