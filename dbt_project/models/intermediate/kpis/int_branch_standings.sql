{#- Branches ranked per KPI and month, by level and by increase since the start of the year. -#}

with

kpi_values as (

    select * from {{ ref('int_kpi_values_compared') }}
    where entity_type = 'branch'

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

branch_values as (

    select
        kpi_values.*,
        {{ merit('kpi_values.value_base', 'kpi_catalogue.higher_is_better') }} as merit,
        {{ merit('kpi_values.change_since_year_start_base', 'kpi_catalogue.higher_is_better') }}
            as merit_of_increase

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code

),

ranked as (

    select
        *,
        rank() over (partition by period, kpi_code order by merit desc)::integer as branch_rank,
        count(*) over (partition by period, kpi_code)::integer as branch_count,
        case
            when merit_of_increase is not null then
                rank() over (
                    partition by period, kpi_code
                    order by merit_of_increase desc nulls last
                )::integer
        end as increase_rank

    from branch_values

),

final as (

    select
        {{ period_key('period', ['kpi_code', 'entity_code']) }} as branch_standing_key,
        period,
        lob_code,
        kpi_code,
        entity_code as branch_name,
        value_base,
        value_submitted,
        unit_submitted,
        qualifier,
        prior_month_value_base,
        prior_year_value_base,
        year_start_value_base,
        change_since_year_start_base,
        mom_change,
        yoy_change,
        change_unit,
        branch_rank,
        branch_count,
        increase_rank,
        is_demo_data

    from ranked

)

select * from final
