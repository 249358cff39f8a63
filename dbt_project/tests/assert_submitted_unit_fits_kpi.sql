-- A figure's submitted unit converts to its KPI's base unit (万户 for a 户 KPI, not 亿元).
with

kpi_values as (

    select * from {{ ref('stg_raw__lob_figures') }}
    where {{ in_target_period('period') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

units as (

    select * from {{ ref('units') }}

)

select
    kpi_values.kpi_value_key,
    kpi_values.unit_submitted,
    kpi_catalogue.base_unit

from kpi_values
inner join kpi_catalogue
    on kpi_values.kpi_code = kpi_catalogue.kpi_code
inner join units
    on kpi_values.unit_submitted = units.unit
where units.base_unit <> kpi_catalogue.base_unit
