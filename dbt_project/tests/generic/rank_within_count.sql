{#- A rank lies in 1..number of entities ranked (null ranks are not checked). -#}
{% test rank_within_count(model, column_name, count_column) %}

select *
from {{ model }}
where {{ column_name }} is not null
    and (
        {{ count_column }} is null
        or {{ column_name }} < 1
        or {{ column_name }} > {{ count_column }}
    )

{% endtest %}
