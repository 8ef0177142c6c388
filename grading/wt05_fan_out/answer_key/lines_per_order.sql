with

order_items as (

    select * from raw.raw_order_items

),

lines_of_each_order as (

    select
        order_id,
        count(*) as lines

    from order_items
    group by order_id

),

final as (

    select
        lines,
        count(*) as orders

    from lines_of_each_order
    group by lines
    order by lines

)

select * from final
