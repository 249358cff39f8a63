{#-
    The judgements that need history, for every bank-level figure of the month being built:
    - streak: how many months in a row, ending with this one, the figure moved the good way
      (up, or down where less is better) against the month before; a missing month ends it;
    - record: this year's span figure (the YTD value of a cumulative KPI, the rise since the
      previous December of a point-in-time one) against the same month of earlier years:
      history_years = years in a row, this one included, the warehouse holds it for;
      record_years = years in a row over which this year's is strictly the highest.
    The briefs turn them into words (include/strategy_briefs/briefs/narrative.py) and never
    claim more years than record_years. Unlike the comparisons this reads back in time, but
    only var('judgement_history_months') months (seven years: more than the five a record
    claims), so a month's cost stops growing with the history; a longer streak or history
    is counted to that window, never beyond it.
-#}

with

kpi_values as (

    select * from {{ ref('stg_raw__lob_figures') }}
    where entity_type = 'bank'
    {%- if target_period() is not none %}
        and period <= {{ target_period_date() }}
        and period > ({{ target_period_date() }}
            - interval '{{ var("judgement_history_months") | int }} months')::date
    {%- endif %}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

figures as (

    select
        kpi_values.period,
        kpi_values.kpi_code,
        kpi_values.entity_code,
        kpi_values.value_base,
        kpi_values.is_demo_data,
        kpi_catalogue.kind,
        kpi_catalogue.is_ytd,
        kpi_catalogue.higher_is_better,
        {{ merit('kpi_values.value_base', 'kpi_catalogue.higher_is_better') }} as merit

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code
    where kpi_values.value_base is not null

),

moves as (

    select
        *,
        lag(period) over by_month as previous_period,
        lag(merit) over by_month as previous_merit

    from figures
    window by_month as (partition by kpi_code, entity_code order by period)

),

moved_well as (

    select
        *,
        coalesce(
            previous_period = (period - interval '1 month')::date and merit > previous_merit,
            false
        ) as moved_well

    from moves

),

runs as (

    -- every month that did not move well starts a new run; the run's first month is the base
    select
        *,
        sum(case when moved_well then 0 else 1 end) over (
            partition by kpi_code, entity_code order by period rows unbounded preceding
        ) as run_no

    from moved_well

),

streaks as (

    select
        period,
        kpi_code,
        entity_code,
        row_number() over in_run - 1 as rise_streak_months,
        bool_or(is_demo_data) over in_run as streak_uses_demo_data

    from runs
    window in_run as (
        partition by kpi_code, entity_code, run_no order by period rows unbounded preceding
    )

),

spans as (

    select
        this_month.period,
        this_month.kpi_code,
        this_month.entity_code,
        case
            when this_month.is_ytd then this_month.value_base
            else this_month.value_base - year_end.value_base
        end as span_value_base,
        this_month.is_demo_data or coalesce(year_end.is_demo_data, false) as span_is_demo_data

    from figures as this_month
    left join figures as year_end
        on this_month.kpi_code = year_end.kpi_code
        and this_month.entity_code = year_end.entity_code
        and year_end.period = (date_trunc('year', this_month.period) - interval '1 month')::date
    where this_month.kind in ('count', 'amount', 'weight')
        and this_month.higher_is_better

),

earlier_years as (

    select
        this_year.period,
        this_year.kpi_code,
        this_year.entity_code,
        (extract(year from this_year.period) - extract(year from earlier.period))::int
            as years_back,
        row_number() over (
            partition by this_year.kpi_code, this_year.entity_code, this_year.period
            order by earlier.period desc
        ) as nth_earlier,
        earlier.span_value_base < this_year.span_value_base as was_lower,
        earlier.span_is_demo_data

    from spans as this_year
    inner join spans as earlier
        on this_year.kpi_code = earlier.kpi_code
        and this_year.entity_code = earlier.entity_code
        and extract(month from earlier.period) = extract(month from this_year.period)
        and this_year.period > earlier.period
        and earlier.span_value_base is not null
    where {{ in_target_period('this_year.period') }}
        and this_year.span_value_base is not null

),

record_spans as (

    -- years_back = nth_earlier while no year is missing; a gap ends the run held
    select
        period,
        kpi_code,
        entity_code,
        count(*) filter (where years_back = nth_earlier) as earlier_years_held,
        min(years_back) filter (where not was_lower or years_back <> nth_earlier)
            as first_year_back_not_lower

    from earlier_years
    group by period, kpi_code, entity_code

),

records as (

    select
        spans.period,
        spans.kpi_code,
        spans.entity_code,
        1 + coalesce(record_spans.earlier_years_held, 0) as history_years,
        1 + least(
            coalesce(record_spans.earlier_years_held, 0),
            coalesce(record_spans.first_year_back_not_lower - 1, record_spans.earlier_years_held, 0)
        ) as record_years,
        spans.span_is_demo_data

    from spans
    left join record_spans
        on spans.period = record_spans.period
        and spans.kpi_code = record_spans.kpi_code
        and spans.entity_code = record_spans.entity_code
    where {{ in_target_period('spans.period') }}
        and spans.span_value_base is not null

),

records_with_demo as (

    select
        records.*,
        records.span_is_demo_data or coalesce(bool_or(earlier_years.span_is_demo_data), false)
            as record_uses_demo_data

    from records
    left join earlier_years
        on records.period = earlier_years.period
        and records.kpi_code = earlier_years.kpi_code
        and records.entity_code = earlier_years.entity_code
        and records.record_years > earlier_years.years_back
    group by
        records.period, records.kpi_code, records.entity_code, records.history_years,
        records.record_years, records.span_is_demo_data

),

final as (

    select
        streaks.period,
        streaks.kpi_code,
        streaks.entity_code,
        case when figures.is_ytd or figures.kind = 'rank' then null
            else streaks.rise_streak_months
        end as rise_streak_months,
        case when figures.is_ytd or figures.kind = 'rank' then null
            else streaks.streak_uses_demo_data
        end as streak_uses_demo_data,
        records_with_demo.history_years,
        records_with_demo.record_years,
        records_with_demo.record_uses_demo_data

    from streaks
    inner join figures
        on streaks.period = figures.period
        and streaks.kpi_code = figures.kpi_code
        and streaks.entity_code = figures.entity_code
    left join records_with_demo
        on streaks.period = records_with_demo.period
        and streaks.kpi_code = records_with_demo.kpi_code
        and streaks.entity_code = records_with_demo.entity_code
    where {{ in_target_period('streaks.period') }}

)

select * from final
