{#- Ratios are stored as fractions: a ratio-kind value outside 0..1 was loaded in the wrong unit. -#}
{% test ratio_within_unit_interval(model, column_name, kind_column='kind') %}

select *
from {{ model }}
where {{ kind_column }} = 'ratio'
    and ({{ column_name }} < 0 or {{ column_name }} > 1)

{% endtest %}
