with

kpi_values as (

    select * from {{ ref('int_kpi_values_compared') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

peer_banks as (

    select * from {{ ref('peer_banks') }}

),

final as (

    select
        kpi_values.kpi_value_key,
        kpi_values.period,
        kpi_values.lob_code,
        kpi_values.kpi_code,
        kpi_values.entity_type,
        kpi_values.entity_code,
        coalesce(peer_banks.short_name_zh, kpi_values.entity_code) as entity_name_zh,
        coalesce(peer_banks.is_reporting_bank, false) as is_reporting_bank,
        kpi_catalogue.name_zh as kpi_name_zh,
        kpi_catalogue.short_name_zh as kpi_short_name_zh,
        kpi_catalogue.name_en as kpi_name_en,
        kpi_catalogue.kind,
        kpi_catalogue.base_unit,
        kpi_catalogue.is_ytd,
        kpi_catalogue.higher_is_better,
        kpi_catalogue.is_headline,
        kpi_catalogue.display_order,
        kpi_catalogue.parent_kpi_code,
        kpi_values.value_base,
        kpi_values.value_submitted,
        kpi_values.unit_submitted,
        kpi_values.qualifier,
        kpi_values.note,
        kpi_values.is_demo_data,
        kpi_values.prior_month_value_base,
        kpi_values.prior_year_value_base,
        kpi_values.year_start_value_base,
        kpi_values.month_flow_base,
        kpi_values.prior_month_flow_base,
        kpi_values.mom_change,
        kpi_values.yoy_change,
        kpi_values.change_unit,
        kpi_values.change_since_year_start_base,
        kpi_values.load_id,
        kpi_values.mom_uses_demo_data,
        kpi_values.yoy_uses_demo_data,
        kpi_catalogue.change_decimals,
        kpi_catalogue.theme,
        kpi_values.change_since_month_base,
        kpi_values.since_month_uses_demo_data

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code
    left join peer_banks
        on kpi_values.entity_type = 'bank'
        and kpi_values.entity_code = peer_banks.bank_code

)

select * from final
