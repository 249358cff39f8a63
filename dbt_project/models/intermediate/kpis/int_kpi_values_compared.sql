{#-
    Every figure of the month being built, beside the figures it is compared with: the prior
    month, the same month last year, the previous December, and the month of the year the
    catalogue compares it with by name (kpi_catalogue.since_month, '较3月末'). Cumulative (YTD) KPIs also get
    their month's own flow, so 环比 compares month with month (across a year boundary January's
    YTD is its own flow) while 同比 compares YTD with YTD.
-#}

with

kpi_values as (

    select * from {{ ref('stg_raw__lob_figures') }}
    where {{ in_comparison_window('period') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

kpi_values_with_kind as (

    select
        kpi_values.*,
        kpi_catalogue.kind,
        kpi_catalogue.is_ytd

    from kpi_values
    inner join kpi_catalogue
        on kpi_values.kpi_code = kpi_catalogue.kpi_code

),

month_flows as (

    select
        this_month.*,
        case
            when not this_month.is_ytd
                or this_month.kind not in ('count', 'amount', 'weight') then null
            when extract(month from this_month.period) = 1 then this_month.value_base
            else this_month.value_base - previous_month.value_base
        end as month_flow_base,
        -- a flow taken as the difference of two YTD figures is demo data if either is
        this_month.is_demo_data or (
            this_month.is_ytd
            and extract(month from this_month.period) <> 1
            and coalesce(previous_month.is_demo_data, false)
        ) as month_flow_is_demo_data

    from kpi_values_with_kind as this_month
    left join kpi_values_with_kind as previous_month
        on this_month.kpi_code = previous_month.kpi_code
        and this_month.entity_type = previous_month.entity_type
        and this_month.entity_code = previous_month.entity_code
        and previous_month.period = (this_month.period - interval '1 month')::date

),

target_month as (

    select * from month_flows
    where {{ in_target_period('period') }}

),

-- only the named month of the KPIs that have one, so the cost stays that of a few rows
named_months as (

    select
        staged.kpi_code,
        staged.entity_type,
        staged.entity_code,
        staged.period,
        staged.value_base,
        staged.is_demo_data,
        kpi_catalogue.since_month

    from {{ ref('stg_raw__lob_figures') }} as staged
    inner join kpi_catalogue
        on staged.kpi_code = kpi_catalogue.kpi_code
    where kpi_catalogue.since_month is not null
        and extract(month from staged.period) = kpi_catalogue.since_month

),

compared as (

    select
        target_month.kpi_value_key,
        target_month.period,
        target_month.lob_code,
        target_month.kpi_code,
        target_month.entity_type,
        target_month.entity_code,
        target_month.kind,
        target_month.is_ytd,
        target_month.value_base,
        target_month.value_submitted,
        target_month.unit_submitted,
        target_month.qualifier,
        target_month.note,
        target_month.is_demo_data,
        target_month.load_id,
        prior_month.value_base as prior_month_value_base,
        prior_year.value_base as prior_year_value_base,
        year_start.value_base as year_start_value_base,
        target_month.month_flow_base,
        prior_month.month_flow_base as prior_month_flow_base,
        target_month.month_flow_is_demo_data,
        prior_month.is_demo_data as prior_month_is_demo_data,
        prior_month.month_flow_is_demo_data as prior_month_flow_is_demo_data,
        prior_year.is_demo_data as prior_year_is_demo_data,
        named_month.value_base as named_month_value_base,
        named_month.is_demo_data as named_month_is_demo_data

    from target_month
    left join month_flows as prior_month
        on target_month.kpi_code = prior_month.kpi_code
        and target_month.entity_type = prior_month.entity_type
        and target_month.entity_code = prior_month.entity_code
        and prior_month.period = (target_month.period - interval '1 month')::date
    left join month_flows as prior_year
        on target_month.kpi_code = prior_year.kpi_code
        and target_month.entity_type = prior_year.entity_type
        and target_month.entity_code = prior_year.entity_code
        and prior_year.period = (target_month.period - interval '12 months')::date
    left join month_flows as year_start
        on target_month.kpi_code = year_start.kpi_code
        and target_month.entity_type = year_start.entity_type
        and target_month.entity_code = year_start.entity_code
        and year_start.period = (date_trunc('year', target_month.period) - interval '1 month')::date
    left join named_months as named_month
        on target_month.kpi_code = named_month.kpi_code
        and target_month.entity_type = named_month.entity_type
        and target_month.entity_code = named_month.entity_code
        and named_month.period = make_date(
            extract(year from target_month.period)::int, named_month.since_month, 1
        )
        and extract(month from target_month.period) > named_month.since_month

),

final as (

    select
        *,
        case
            when is_ytd
                then {{ change_between('month_flow_base', 'prior_month_flow_base', 'kind') }}
            else {{ change_between('value_base', 'prior_month_value_base', 'kind') }}
        end as mom_change,
        {{ change_between('value_base', 'prior_year_value_base', 'kind') }} as yoy_change,
        {{ change_unit_for('kind') }} as change_unit,
        -- a comparison with demonstration data is itself demonstration data: the briefs
        -- label it (the figure can be published while the month it is compared with is not)
        case
            when is_ytd
                then month_flow_is_demo_data or coalesce(prior_month_flow_is_demo_data, false)
            else is_demo_data or coalesce(prior_month_is_demo_data, false)
        end as mom_uses_demo_data,
        is_demo_data or coalesce(prior_year_is_demo_data, false) as yoy_uses_demo_data,
        -- a YTD figure is already "since year start"; a rank has no amount to move by
        case
            when not is_ytd and kind <> 'rank' then value_base - year_start_value_base
        end as change_since_year_start_base,
        -- '较3月末净增1.19亿美元': a point-in-time amount against a named month of its year
        case
            when not is_ytd and kind <> 'rank' then value_base - named_month_value_base
        end as change_since_month_base,
        is_demo_data or coalesce(named_month_is_demo_data, false) as since_month_uses_demo_data

    from compared

)

select * from final
