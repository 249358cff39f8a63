-- A figure fits its KPI's row of the catalogue: submitted by the line of business the
-- catalogue assigns the KPI to, in a unit that converts to the KPI's base unit (万户 for a 户
-- KPI, not 亿元). One row per misfit, with what is wrong.
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

),

figures as (

    select
        kpi_values.kpi_value_key,
        kpi_values.lob_code,
        kpi_values.unit_submitted,
        kpi_catalogue.lob_code as catalogue_lob_code,
        kpi_catalogue.base_unit,
        units.base_unit as submitted_base_unit

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code
    left join units
        on kpi_values.unit_submitted = units.unit

),

misfits as (

    select
        kpi_value_key,
        'submitted by ' || lob_code || ', a KPI of ' || catalogue_lob_code as problem

    from figures
    where lob_code <> catalogue_lob_code

    union all

    select
        kpi_value_key,
        'unit ' || unit_submitted || ' is in ' || submitted_base_unit
        || ', the KPI in ' || base_unit as problem

    from figures
    where submitted_base_unit <> base_unit

)

select * from misfits
