with

events as (

    select * from {{ ref('stg_events') }}

),

signups as (

    select * from events
    where event_type = 'signup'

),

daily as (

    select
        event_date as signup_date,
        count(*) as signups

    from signups
    group by event_date

),

final as (

    select
        *,
        {{ dbt.current_timestamp() }} as updated_at

    from daily

)

select * from final
