with

runs as (

    select * from stg_pipeline_runs

),

first_phantom as (

    select * from runs
    where not includes_marts
    order by run_date
    limit 1

),

final as (

    select
        run_id,
        duration_seconds,
        round(trailing_avg_duration_7d, 1) as trailing_avg_seconds,
        round(duration_seconds / trailing_avg_duration_7d, 2) as duration_ratio

    from first_phantom

)

select * from final
