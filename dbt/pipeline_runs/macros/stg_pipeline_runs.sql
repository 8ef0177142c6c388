{#- stg_pipeline_runs: the orchestrator's audit log (source acme.raw_pipeline_runs) with diagnostic fields:
    whether the run's selector reaches the marts, and its duration against the runs of the 7 days before it. -#}
{% macro stg_pipeline_runs() %}
with

source as (

    select * from {{ source('acme', 'raw_pipeline_runs') }}

),

parsed as (

    select
        run_id,
        run_date,
        run_date + to_seconds(duration_seconds) as finished_at,
        status,
        exit_code,
        models_run,
        duration_seconds,
        -- a selector reaches the marts when it is the whole project, names them, or takes what is downstream
        (
            models_run = 'all'
            or contains(models_run, 'marts')
            or ends_with(models_run, '+')
        ) as includes_marts

    from source

),

with_trailing_average as (

    select
        *,
        avg(duration_seconds) over (
            order by run_date
            range between interval 7 days preceding and current row
            exclude current row
        ) as trailing_avg_duration_7d

    from parsed

),

final as (

    select
        *,
        round(duration_seconds / trailing_avg_duration_7d, 2) as duration_ratio

    from with_trailing_average

)

select * from final
{% endmacro %}
