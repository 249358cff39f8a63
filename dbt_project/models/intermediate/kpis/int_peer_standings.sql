{#-
    The reporting bank's standing among the big four per KPI and month. A rank is computed when
    all four banks' figures are supplied; otherwise the rank the line of business reported (the
    rank-kind KPI whose ranks_kpi_code names this KPI) is used. The runner-up is the best-placed
    other bank supplied; the lead over it is positive when the reporting bank is ahead.
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

big_four as (

    select count(*)::integer as bank_count from peer_banks

),

bank_values as (

    select
        kpi_values.period,
        kpi_values.lob_code,
        kpi_values.kpi_code,
        kpi_values.entity_code as bank_code,
        kpi_values.value_base,
        peer_banks.is_reporting_bank,
        kpi_catalogue.higher_is_better

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code
    inner join peer_banks
        on kpi_values.entity_code = peer_banks.bank_code
    where kpi_catalogue.kind <> 'rank'

),

bank_values_ordered as (

    select
        *,
        -- one sort key whatever the direction: bigger is better after the sign flip
        case when higher_is_better then value_base else -value_base end as merit

    from bank_values

),

banks_supplied as (

    select
        period,
        kpi_code,
        count(*)::integer as banks_supplied

    from bank_values
    group by period, kpi_code

),

computed_ranks as (

    select
        period,
        kpi_code,
        bank_code,
        rank() over (partition by period, kpi_code order by merit desc)::integer as computed_rank

    from bank_values_ordered

),

reported_ranks as (

    select
        kpi_values.period,
        kpi_catalogue.ranks_kpi_code as kpi_code,
        kpi_values.value_base::integer as reported_rank

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code
    inner join peer_banks
        on kpi_values.entity_code = peer_banks.bank_code
    where kpi_catalogue.kind = 'rank'
        and kpi_catalogue.ranks_kpi_code is not null
        and peer_banks.is_reporting_bank

),

reporting_bank_values as (

    select * from bank_values_ordered
    where is_reporting_bank

),

runners_up as (

    select
        period,
        kpi_code,
        bank_code as runner_up_bank_code,
        value_base as runner_up_value_base,
        merit as runner_up_merit

    from (
        select
            *,
            row_number() over (
                partition by period, kpi_code order by merit desc, bank_code
            ) as place_among_others
        from bank_values_ordered
        where not is_reporting_bank
    ) as others
    where place_among_others = 1

),

standing_keys as (

    select period, kpi_code from reporting_bank_values
    union
    select period, kpi_code from reported_ranks

),

joined as (

    select
        standing_keys.period,
        standing_keys.kpi_code,
        kpi_catalogue.lob_code,
        kpi_catalogue.higher_is_better,
        reporting_bank_values.bank_code,
        reporting_bank_values.value_base,
        coalesce(banks_supplied.banks_supplied, 0) as banks_supplied,
        big_four.bank_count,
        case
            when banks_supplied.banks_supplied = big_four.bank_count
                then computed_ranks.computed_rank
        end as computed_rank,
        reported_ranks.reported_rank,
        runners_up.runner_up_bank_code,
        runners_up.runner_up_value_base,
        trim_scale(reporting_bank_values.merit - runners_up.runner_up_merit) as lead_over_runner_up

    from standing_keys
    cross join big_four
    inner join kpi_catalogue
        on standing_keys.kpi_code = kpi_catalogue.kpi_code
    left join reporting_bank_values
        on standing_keys.period = reporting_bank_values.period
        and standing_keys.kpi_code = reporting_bank_values.kpi_code
    left join banks_supplied
        on standing_keys.period = banks_supplied.period
        and standing_keys.kpi_code = banks_supplied.kpi_code
    left join computed_ranks
        on reporting_bank_values.period = computed_ranks.period
        and reporting_bank_values.kpi_code = computed_ranks.kpi_code
        and reporting_bank_values.bank_code = computed_ranks.bank_code
    left join reported_ranks
        on standing_keys.period = reported_ranks.period
        and standing_keys.kpi_code = reported_ranks.kpi_code
    left join runners_up
        on standing_keys.period = runners_up.period
        and standing_keys.kpi_code = runners_up.kpi_code

),

final as (

    select
        to_char(period, 'YYYY-MM') || '|' || kpi_code as peer_standing_key,
        period,
        lob_code,
        kpi_code,
        (select bank_code from peer_banks where is_reporting_bank) as reporting_bank_code,
        value_base,
        banks_supplied,
        computed_rank,
        reported_rank,
        coalesce(computed_rank, reported_rank) as peer_rank,
        case
            when computed_rank is not null then 'computed'
            when reported_rank is not null then 'reported'
        end as peer_rank_source,
        case when coalesce(computed_rank, reported_rank) is not null then bank_count end
            as peer_count,
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
