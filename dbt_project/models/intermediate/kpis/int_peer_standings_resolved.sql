{#-
    The reporting bank's standing among the big four per KPI and month. A rank is computed when
    all four banks' figures are supplied; otherwise the rank the line of business reported (the
    rank-kind KPI whose ranks_kpi_code names this KPI) is used. The runner-up is the best-placed
    other bank supplied; the lead over it is positive when the reporting bank is ahead.
-#}

with

bank_values as (

    select * from {{ ref('int_bank_values_ranked') }}

),

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

-- one row: the banks a rank is among, and the one reporting (exactly one, tests/ says)
big_four as (

    select
        count(*)::integer as bank_count,
        min(bank_code) filter (where is_reporting_bank) as reporting_bank_code

    from peer_banks

),

reporting_bank_values as (

    select * from bank_values
    where is_reporting_bank

),

runners_up as (

    select * from bank_values
    where place_among_others = 1

),

reported_ranks as (

    select
        kpi_values.period,
        kpi_catalogue.ranks_kpi_code as kpi_code,
        kpi_values.value_base::integer as reported_rank

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code
    inner join big_four
        on kpi_values.entity_code = big_four.reporting_bank_code
    where kpi_catalogue.kind = 'rank'
        and kpi_catalogue.ranks_kpi_code is not null

),

standing_keys as (

    select
        period,
        kpi_code
    from reporting_bank_values
    union
    select
        period,
        kpi_code
    from reported_ranks

),

joined as (

    select
        standing_keys.period,
        standing_keys.kpi_code,
        kpi_catalogue.lob_code,
        big_four.reporting_bank_code,
        reporting_bank_values.value_base,
        -- every bank's row of the KPI and month counts the same banks
        coalesce(reporting_bank_values.banks_supplied, runners_up.banks_supplied, 0)
            as banks_supplied,
        big_four.bank_count,
        case
            when reporting_bank_values.banks_supplied = big_four.bank_count
                then reporting_bank_values.rank_among_supplied
        end as computed_rank,
        reported_ranks.reported_rank,
        runners_up.bank_code as runner_up_bank_code,
        runners_up.value_base as runner_up_value_base,
        trim_scale(reporting_bank_values.merit - runners_up.merit) as lead_over_runner_up

    from standing_keys
    cross join big_four
    inner join kpi_catalogue
        on standing_keys.kpi_code = kpi_catalogue.kpi_code
    left join reporting_bank_values
        on standing_keys.period = reporting_bank_values.period
        and standing_keys.kpi_code = reporting_bank_values.kpi_code
    left join reported_ranks
        on standing_keys.period = reported_ranks.period
        and standing_keys.kpi_code = reported_ranks.kpi_code
    left join runners_up
        on standing_keys.period = runners_up.period
        and standing_keys.kpi_code = runners_up.kpi_code

),

final as (

    select
        {{ period_key('period', ['kpi_code']) }} as peer_standing_key,
        period,
        lob_code,
        kpi_code,
        reporting_bank_code,
        value_base,
        banks_supplied,
        computed_rank,
        reported_rank,
        coalesce(computed_rank, reported_rank) as peer_rank,
        case
            when computed_rank is not null then 'computed'
            when reported_rank is not null then 'reported'
        end as peer_rank_source,
        case
            when coalesce(computed_rank, reported_rank) is not null then bank_count
        end as peer_count,
        runner_up_bank_code,
        runner_up_value_base,
        lead_over_runner_up

    from joined
    -- a standing needs a rank or a rival to stand against
    where computed_rank is not null
        or reported_rank is not null
        or runner_up_bank_code is not null

)

select * from final
