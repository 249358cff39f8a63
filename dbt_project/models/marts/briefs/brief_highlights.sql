{#- The departments' own words the templates print, one row per item, in article order. -#}

with

highlights as (

    select * from {{ ref('stg_raw__lob_highlights') }}
    where {{ in_target_period('period') }}

),

final as (

    select
        lob_highlight_key as brief_highlight_key,
        period,
        lob_code,
        item_no,
        opener,
        body,
        source_file,
        source_row

    from highlights

)

select * from final
