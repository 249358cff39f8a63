{#- Periods are months, stored as their first day. -#}
{% test first_day_of_month(model, column_name) %}

select *
from {{ model }}
where {{ column_name }} <> date_trunc('month', {{ column_name }})::date

{% endtest %}
