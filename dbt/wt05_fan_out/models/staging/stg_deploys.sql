with

source as (

    select * from {{ source('acme', 'raw_deploys') }}

),

final as (

    select
        deploy_id,
        deployed_at,
        pr_number,
        title,
        author,
        models_changed,
        _loaded_at as loaded_at

    from source

)

select * from final
