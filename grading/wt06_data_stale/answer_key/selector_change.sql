with

runs as (

    select * from raw.raw_pipeline_runs

),

with_previous as (

    select
        run_id,
        run_date,
        lag(models_run) over (order by run_date) as previous_models_run,
        models_run

    from runs

),

final as (

    select * from with_previous
    where models_run != previous_models_run

)

select * from final
