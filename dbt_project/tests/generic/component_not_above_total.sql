{#-
    A component KPI ("其中…", parent_kpi_code) never exceeds its total for the same month and
    entity. Components need not add up to the total: the page's gold pool holds more than the
    two named parts.
-#}
{% test component_not_above_total(
    model,
    column_name,
    code_column='kpi_code',
    parent_column='parent_kpi_code',
    same_columns=['period', 'entity_type', 'entity_code']
) %}

with

components as (

    select * from {{ model }}
    where {{ parent_column }} is not null

),

totals as (

    select * from {{ model }}

)

select
    components.{{ code_column }} as component_code,
    components.{{ column_name }} as component_value,
    totals.{{ code_column }} as total_code,
    totals.{{ column_name }} as total_value,
    {% for column in same_columns %}components.{{ column }}{{ ", " if not loop.last }}{% endfor %}

from components
inner join totals
    on components.{{ parent_column }} = totals.{{ code_column }}
    {% for column in same_columns %}
    and components.{{ column }} = totals.{{ column }}
    {% endfor %}
where components.{{ column_name }} > totals.{{ column_name }}

{% endtest %}
