{#-
    Every peer bank's figure per KPI and month, ranked among the banks that supplied one (rank
    KPIs excluded: they are ranks already). The merit orders them whatever the KPI's direction;
    the other banks also get their place among themselves, the first of which is the reporting
    bank's runner-up.
-#}

with

kpi_values as (

    select * from {{ ref('int_kpi_values_compared') }}
    where entity_type = 'bank'

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

peer_banks as (

    select * from {{ ref('peer_banks') }}

),

bank_values as (

    select
        kpi_values.period,
        kpi_values.lob_code,
        kpi_values.kpi_code,
        kpi_values.entity_code as bank_code,
        kpi_values.value_base,
        peer_banks.is_reporting_bank,
        {{ merit('kpi_values.value_base', 'kpi_catalogue.higher_is_better') }} as merit

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code
    inner join peer_banks
        on kpi_values.entity_code = peer_banks.bank_code
    where kpi_catalogue.kind <> 'rank'

),

ranked as (

    select
        *,
        (count(*) over among_banks)::integer as banks_supplied,
        rank() over (among_banks order by merit desc)::integer as rank_among_supplied,
        -- the others in a strict order (ties by bank code): the first is the runner-up
        case
            when not is_reporting_bank then (row_number() over among_others)::integer
        end as place_among_others

    from bank_values
    window
        among_banks as (partition by period, kpi_code),
        among_others as (
            partition by period, kpi_code, is_reporting_bank order by merit desc, bank_code asc
        )

),

final as (

    select
        {{ period_key('period', ['kpi_code', 'bank_code']) }} as bank_value_key,
        period,
        lob_code,
        kpi_code,
        bank_code,
        is_reporting_bank,
        value_base,
        merit,
        banks_supplied,
        rank_among_supplied,
        place_among_others

    from ranked

)

select * from final
