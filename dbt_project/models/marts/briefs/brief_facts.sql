{#- What the templates read: one row per (period, line of business, KPI) for the reporting bank,
    and one per (period, KPI, branch) for the KPIs its branches submit. -#}

with

kpi_values as (

    select * from {{ ref('fct_kpi_values_monthly') }}
    where {{ in_target_period('period') }}
        and ((entity_type = 'bank' and is_reporting_bank) or entity_type = 'branch')

),

-- the branches ranked among themselves (fct_branch_standings)
branch_standings as (

    select * from {{ ref('fct_branch_standings') }}
    where {{ in_target_period('period') }}

),

peer_standings as (

    select * from {{ ref('fct_peer_standings') }}
    where {{ in_target_period('period') }}

),

value_runs as (

    select * from {{ ref('int_kpi_value_runs') }}
    where {{ in_target_period('period') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

-- a KPI the catalogue ranks (a rank KPI names it): the rank summary needs every one of them
ranked_kpis as (

    select
        ranked.kpi_code,
        ranked.lob_code,
        ranked.change_round_step,
        ranked.since_month,
        exists(
            select 1 from kpi_catalogue as rank_kpi
            where rank_kpi.ranks_kpi_code = ranked.kpi_code
        ) as is_rank_expected

    from kpi_catalogue as ranked

),

expected_ranks as (

    select
        lob_code,
        count(*) filter (where is_rank_expected)::int as lob_expected_rank_count
    from ranked_kpis
    group by lob_code

),

final as (

    select
        -- a branch's row adds the branch; the reporting bank's own rows have no fourth part
        {{ period_key('kpi_values.period', [
            'kpi_values.lob_code',
            'kpi_values.kpi_code',
            "case when kpi_values.entity_type = 'branch' then kpi_values.entity_code end",
        ]) }} as brief_fact_key,
        kpi_values.period,
        kpi_values.lob_code,
        kpi_values.kpi_code,
        kpi_values.kpi_name_zh,
        kpi_values.kind,
        kpi_values.base_unit,
        kpi_values.display_order,
        kpi_values.is_headline,
        kpi_values.is_ytd,
        kpi_values.value_base,
        kpi_values.value_submitted,
        kpi_values.unit_submitted,
        kpi_values.qualifier,
        kpi_values.mom_change,
        kpi_values.yoy_change,
        kpi_values.change_unit,
        peer_standings.peer_rank,
        peer_standings.peer_rank_source,
        peer_standings.peer_count,
        peer_standings.runner_up_bank_code,
        peer_standings.runner_up_short_name,
        peer_standings.lead_over_runner_up,
        kpi_values.is_demo_data,
        -- added beyond docs/architecture.md
        kpi_values.kpi_name_en,
        kpi_values.higher_is_better,
        kpi_values.parent_kpi_code,
        kpi_values.prior_month_value_base,
        kpi_values.prior_year_value_base,
        kpi_values.change_since_year_start_base,
        kpi_values.note,
        peer_standings.banks_supplied,
        peer_standings.runner_up_value_base,
        kpi_values.mom_uses_demo_data,
        kpi_values.yoy_uses_demo_data,
        kpi_values.change_decimals,
        kpi_values.kpi_short_name_zh,
        kpi_values.theme,
        ranked_kpis.change_round_step,
        value_runs.rise_streak_months::int as rise_streak_months,
        coalesce(value_runs.streak_uses_demo_data, false) as streak_uses_demo_data,
        value_runs.history_years::int as history_years,
        value_runs.record_years::int as record_years,
        coalesce(value_runs.record_uses_demo_data, false) as record_uses_demo_data,
        ranked_kpis.is_rank_expected,
        coalesce(expected_ranks.lob_expected_rank_count, 0) as lob_expected_rank_count,
        case when kpi_values.entity_type = 'branch' then kpi_values.entity_code end as branch_name,
        branch_standings.branch_rank,
        branch_standings.branch_count,
        branch_standings.increase_rank as branch_increase_rank,
        -- a branch's standing rests on the other branches' figures too
        case
            when kpi_values.entity_type = 'branch'
                then bool_or(kpi_values.is_demo_data) over branches_of_the_kpi
        end as branch_rank_uses_demo_data,
        ranked_kpis.since_month,
        kpi_values.change_since_month_base,
        kpi_values.since_month_uses_demo_data

    from kpi_values
    left join peer_standings
        on kpi_values.period = peer_standings.period
        and kpi_values.kpi_code = peer_standings.kpi_code
        and kpi_values.entity_type = 'bank'
    left join branch_standings
        on kpi_values.period = branch_standings.period
        and kpi_values.kpi_code = branch_standings.kpi_code
        and kpi_values.entity_type = 'branch'
        and kpi_values.entity_code = branch_standings.branch_name
    left join value_runs
        on kpi_values.period = value_runs.period
        and kpi_values.kpi_code = value_runs.kpi_code
        and kpi_values.entity_code = value_runs.entity_code
    inner join ranked_kpis
        on kpi_values.kpi_code = ranked_kpis.kpi_code
    left join expected_ranks
        on kpi_values.lob_code = expected_ranks.lob_code
    window branches_of_the_kpi as (
        partition by kpi_values.period, kpi_values.kpi_code, kpi_values.entity_type
    )

)

select * from final
