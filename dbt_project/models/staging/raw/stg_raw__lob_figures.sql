with

source as (

    select * from {{ source('raw', 'lob_figures') }}

),

renamed as (

    select
        load_id,
        -- kept as stored (the loader writes first days) so month filters use raw's index
        period,
        lower(trim(lob_code)) as lob_code,
        lower(trim(kpi_code)) as kpi_code,
        lower(trim(entity_type)) as entity_type,
        -- bank codes are lower-case identifiers; branch names are Chinese and kept as given
        case
            when lower(trim(entity_type)) = 'bank' then lower(trim(entity_code))
            else trim(entity_code)
        end as entity_code,
        trim(value_submitted) as value_submitted,
        trim(unit_submitted) as unit_submitted,
        value_base::numeric as value_base,
        nullif(trim(qualifier), '') as qualifier,
        nullif(trim(note), '') as note,
        coalesce(is_demo_data, false) as is_demo_data,
        source_file,
        source_row

    from source

),

-- the key of the cleaned columns, so it reads as the row does
final as (

    select
        {{ period_key('period', ['kpi_code', 'entity_type', 'entity_code']) }} as kpi_value_key,
        *

    from renamed

)

select * from final
