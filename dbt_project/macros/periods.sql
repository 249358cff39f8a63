{#-
    The reporting month comes in as var('period') = "YYYY-MM". When it is absent every month is
    built (the full-refresh path); when present, only that month and the months it is compared
    with are read, so month N of a long history costs what month 1 did.
-#}

{% macro target_period() -%}
    {%- set period = var('period', none) -%}
    {%- if period is none or period | string | trim == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set period = period | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])$', period) -%}
        {{ exceptions.raise_compiler_error("var('period') must be YYYY-MM, got '" ~ period ~ "'") }}
    {%- endif -%}
    {{ return(period) }}
{%- endmacro %}


{#- SQL date literal of the target month's first day, e.g. date '2020-06-01'. -#}
{% macro target_period_date() -%}
    date '{{ target_period() }}-01'
{%- endmacro %}


{#- Predicate: the row belongs to the month being built (true when building every month). -#}
{% macro in_target_period(column) -%}
    {%- if target_period() is none -%}
        true
    {%- else -%}
        {{ column }} = {{ target_period_date() }}
    {%- endif -%}
{%- endmacro %}


{#-
    Predicate: the row is the target month or one it is compared with: the prior month, the month
    before that (the prior month's own flow for cumulative KPIs), the same month last year and the
    previous December (year start).
-#}
{% macro in_comparison_window(column) -%}
    {%- if target_period() is none -%}
        true
    {%- else -%}
        {%- set p = target_period_date() -%}
        {{ column }} in (
            {{ p }},
            ({{ p }} - interval '1 month')::date,
            ({{ p }} - interval '2 months')::date,
            ({{ p }} - interval '12 months')::date,
            (date_trunc('year', {{ p }}) - interval '1 month')::date
        )
    {%- endif -%}
{%- endmacro %}


{#-
    Pre-hook of the incremental marts: before inserting, remove exactly the month being built
    (every month when no period is given), so a re-run replaces that month and only that month,
    even when the month's raw rows have since shrunk or vanished.
-#}
{% macro delete_target_period_rows(period_column='period') -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if existing is not none and not flags.FULL_REFRESH -%}
        delete from {{ this }} where {{ in_target_period(period_column) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
