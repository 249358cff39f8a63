with

peer_standings as (

    select * from {{ ref('int_peer_standings_resolved') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

peer_banks as (

    select * from {{ ref('peer_banks') }}

),

final as (

    select
        peer_standings.peer_standing_key,
        peer_standings.period,
        peer_standings.lob_code,
        peer_standings.kpi_code,
        kpi_catalogue.name_zh as kpi_name_zh,
        kpi_catalogue.kind,
        kpi_catalogue.base_unit,
        kpi_catalogue.higher_is_better,
        peer_standings.reporting_bank_code,
        peer_standings.value_base,
        peer_standings.banks_supplied,
        peer_standings.computed_rank,
        peer_standings.reported_rank,
        peer_standings.peer_rank,
        peer_standings.peer_rank_source,
        peer_standings.peer_count,
        peer_standings.runner_up_bank_code,
        runner_up.name_zh as runner_up_name_zh,
        runner_up.short_name_zh as runner_up_short_name,
        peer_standings.runner_up_value_base,
        peer_standings.lead_over_runner_up

    from peer_standings
    inner join kpi_catalogue
        on peer_standings.kpi_code = kpi_catalogue.kpi_code
    left join peer_banks as runner_up
        on peer_standings.runner_up_bank_code = runner_up.bank_code

)

select * from final
