with

source as (

    select * from {{ source('raw', 'lob_highlights') }}

),

renamed as (

    select
        load_id,
        -- kept as stored (the loader writes first days) so month filters use raw's index
        period,
        lower(trim(lob_code)) as lob_code,
        item_no::integer as item_no,
        nullif(trim(opener), '') as opener,
        trim(body) as body,
        source_file,
        source_row

    from source

),

-- the key of the cleaned columns, so it reads as the row does
final as (

    select
        {{ period_key('period', ['lob_code', 'item_no']) }} as lob_highlight_key,
        *

    from renamed

)

select * from final
