with

runs as (

    select * from stg_pipeline_runs

),

with_mart_refresh as (

    select
        *,
        max(case when includes_marts then run_date end) over (
            order by run_date
            rows between unbounded preceding and current row
        ) as marts_refreshed_at

    from runs

),

models_run_check as (

    select 'models_run' as check_name, min(finished_at) as detected_at
    from runs
    where not includes_marts

),

duration_check as (

    select 'duration_ratio' as check_name, min(finished_at) as detected_at
    from runs
    where duration_ratio < 0.5

),

freshness_check as (

    select 'freshness_25h' as check_name, min(finished_at) as detected_at
    from with_mart_refresh
    where finished_at > marts_refreshed_at + interval 25 hour

),

checks as (

    select * from models_run_check
    union all
    select * from duration_check
    union all
    select * from freshness_check

),

final as (

    select
        check_name,
        detected_at,
        round(epoch(scenario_now() - detected_at) / 3600, 1) as hours_before_ceo

    from checks

)

select * from final
