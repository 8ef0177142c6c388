with

runs as (

    select * from stg_pipeline_runs

),

green as (

    select * from runs
    where status = 'success' and exit_code = 0

),

final as (

    select
        count(*) as green_runs,
        count(*) filter (where not includes_marts) as phantom_runs

    from green

)

select * from final
