with

runs as (

    select * from stg_pipeline_runs

),

with_baseline as (

    select
        run_id,
        run_date,
        duration_seconds,
        avg(case when includes_marts then duration_seconds end) over (
            order by run_date
            range between interval 7 days preceding and current row
            exclude current row
        ) as baseline

    from runs

),

final as (

    select
        run_id,
        duration_seconds,
        round(baseline, 1) as baseline_seconds,
        round(duration_seconds / baseline, 2) as ratio

    from with_baseline
    where duration_seconds < 0.5 * baseline

)

select * from final
