{#-
    on-run-end: keep every node's outcome in the warehouse (table created by migration
    003_audit.sql), so the delivery quality gate
    reads what dbt itself decided (each Cosmos task is its own dbt invocation; their
    run_results.json files live in throwaway folders). A seed's row keeps dbt's checksum of
    its CSV: a month's run rebuilds a seed only when that changes (migration 009).
    The freshness check writes its sources' rows in the same shape without dbt
    (include/strategy_briefs/orchestration/freshness.py, record_freshness): keep them alike.
-#}
{% macro record_node_results(results) %}
    {% if execute and results %}
        {% set period = var('period', none) %}
        {% set run_id = var('airflow_run_id', none) %}
        insert into audit.dbt_node_results
            (invocation_id, period, airflow_run_id, unique_id, resource_type, status, failures, message,
             seed_checksum)
        values
        {%- for result in results %}
            (
                '{{ invocation_id }}',
                {{ dbt.string_literal(period) if period else "null" }},
                {{ dbt.string_literal(run_id) if run_id else "null" }},
                {{ dbt.string_literal(result.node.unique_id) }},
                {{ dbt.string_literal(result.node.resource_type) }},
                {{ dbt.string_literal(result.status) }},
                {{ result.failures if result.failures is not none else "null" }},
                {{ dbt.string_literal((result.message or '') | replace("'", "''") | truncate(500)) }},
                {{ dbt.string_literal(result.node.checksum.checksum) if result.node.resource_type == 'seed' else "null" }}
            ){{ "," if not loop.last }}
        {%- endfor %};
    {% endif %}
{% endmacro %}
