with

runs as (

    select * from raw.raw_pipeline_runs

),

final as (

    select
        status,
        exit_code,
        count(*) as runs,
        max(run_date) as last_run_at

    from runs
    group by status, exit_code

)

select * from final
