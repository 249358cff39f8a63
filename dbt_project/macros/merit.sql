{#-
    A figure signed so that bigger is better whatever the KPI's direction: the value where
    higher is better, its negation where lower is (a 不良率). Ranks, runners-up, leads and
    streaks all compare merits, so the direction is read in this one place.
-#}
{% macro merit(value, higher_is_better='higher_is_better') -%}
    case when {{ higher_is_better }} then {{ value }} else -{{ value }} end
{%- endmacro %}
