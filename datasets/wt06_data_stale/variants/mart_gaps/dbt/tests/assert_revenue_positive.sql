-- Fails (returns rows) when a day of the revenue mart has no orders or no revenue: such a day should not be there.

with

revenue_daily as (

    select * from {{ ref('fct_revenue_daily') }}

),

final as (

    select * from revenue_daily
    where order_count <= 0 or revenue <= 0

)

select * from final
