with

source as (

    select * from {{ source('raw', 'load_audit') }}

),

renamed as (

    select
        load_id,
        -- kept as stored (the loader writes first days) so month filters use raw's index
        period,
        lower(trim(lob_code)) as lob_code,
        source_file,
        source_sha256,
        source_size,
        source_encoding,
        row_count,
        problem_count,
        problems,
        run_id,
        loaded_at,
        lower(trim(status)) as status

    from source

)

select * from renamed
