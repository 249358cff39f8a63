with

source as (

    select * from {{ source('raw', 'lob_highlights') }}

),

renamed as (

    select
        to_char(period, 'YYYY-MM')
            || '|' || lower(trim(lob_code))
            || '|' || item_no::text as lob_highlight_key,
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

)

select * from renamed
