{#-
    Change of current against base, by KPI kind: a rate (fraction, 0.177 = 17.7%) for counts,
    amounts and weights; percentage points (10.0 = 10 个百分点) for ratios stored as fractions;
    none for ranks. Null, never zero and never an error, when there is no base or it is zero.
    Rounded to 10 decimal places with trailing zeros trimmed (0.25, not 0.2500000000000000).
-#}
{% macro change_between(current, base, kind) -%}
    trim_scale(round(case
        when {{ current }} is null or {{ base }} is null then null
        when {{ kind }} = 'ratio' then ({{ current }} - {{ base }}) * 100
        when {{ kind }} in ('count', 'amount', 'weight')
            then ({{ current }} - {{ base }}) / nullif(abs({{ base }}), 0)
    end, 10))
{%- endmacro %}


{% macro change_unit_for(kind) -%}
    case
        when {{ kind }} = 'ratio' then 'pp'
        when {{ kind }} in ('count', 'amount', 'weight') then 'rate'
    end
{%- endmacro %}
