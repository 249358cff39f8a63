{#-
    A row's key as the marts print it: the month as YYYY-MM, then each part, joined by '|'
    ('2020-06|mb_customers|bank|icbc'). A null part is left out with its '|' (concat_ws):
    brief_facts' branch part is null on the reporting bank's own rows, whose keys stay
    'YYYY-MM|lob_code|kpi_code'; every other part is a column of its source's primary key.
-#}
{% macro period_key(period, parts) -%}
    concat_ws('|', to_char({{ period }}, 'YYYY-MM'), {{ parts | join(', ') }})
{%- endmacro %}
