with

runs as (

    select * from raw.raw_pipeline_runs

),

final as (

    select
        models_run,
        count(*) as runs,
        arg_min(run_id, run_date) as first_run_id,
        arg_max(run_id, run_date) as last_run_id

    from runs
    group by models_run

)

select * from final
