with

runs as (

    select * from stg_pipeline_runs

),

successful_runs as (

    select * from runs
    where status = 'success'

),

with_baseline as (

    select
        run_id,
        duration_seconds,
        avg(duration_seconds) over (
            order by run_date
            rows between 7 preceding and 1 preceding
        ) as baseline

    from successful_runs

),

anomalies as (

    select
        *,
        duration_seconds / baseline as duration_ratio

    from with_baseline
    where duration_seconds < 0.5 * baseline
        or duration_seconds > 2 * baseline

),

final as (

    select
        run_id,
        duration_seconds,
        round(baseline, 1) as baseline_seconds,
        round(duration_ratio, 2) as ratio,
        case when duration_ratio < 1 then 'fast' else 'slow' end as direction

    from anomalies

)

select * from final
