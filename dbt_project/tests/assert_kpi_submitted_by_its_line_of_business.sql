-- Each KPI is submitted by the line of business the catalogue assigns it to.
with

kpi_values as (

    select * from {{ ref('stg_raw__lob_figures') }}
    where {{ in_target_period('period') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

)

select
    kpi_values.kpi_value_key,
    kpi_values.lob_code,
    kpi_catalogue.lob_code as catalogue_lob_code

from kpi_values
inner join kpi_catalogue
    on kpi_values.kpi_code = kpi_catalogue.kpi_code
where kpi_values.lob_code <> kpi_catalogue.lob_code
