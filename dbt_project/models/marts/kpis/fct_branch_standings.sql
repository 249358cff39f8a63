with

branch_standings as (

    select * from {{ ref('int_branch_standings') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

final as (

    select
        branch_standings.branch_standing_key,
        branch_standings.period,
        branch_standings.lob_code,
        branch_standings.kpi_code,
        kpi_catalogue.name_zh as kpi_name_zh,
        kpi_catalogue.kind,
        kpi_catalogue.base_unit,
        branch_standings.branch_name,
        branch_standings.value_base,
        branch_standings.value_submitted,
        branch_standings.unit_submitted,
        branch_standings.qualifier,
        branch_standings.prior_month_value_base,
        branch_standings.prior_year_value_base,
        branch_standings.year_start_value_base,
        branch_standings.change_since_year_start_base,
        branch_standings.mom_change,
        branch_standings.yoy_change,
        branch_standings.change_unit,
        branch_standings.branch_rank,
        branch_standings.branch_count,
        branch_standings.increase_rank,
        branch_standings.is_demo_data

    from branch_standings
    inner join kpi_catalogue
        on branch_standings.kpi_code = kpi_catalogue.kpi_code

)

select * from final
