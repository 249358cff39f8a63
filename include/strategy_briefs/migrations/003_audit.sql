-- dbt's own verdicts, written by the on-run-end hook (dbt_project/macros/record_node_results.sql)
-- and read by the delivery quality gate.
create schema if not exists audit;

create table if not exists audit.dbt_node_results (
    invocation_id text not null,
    period text,
    airflow_run_id text,
    unique_id text not null,
    resource_type text not null,
    status text not null,
    failures integer,
    message text,
    recorded_at timestamptz not null default now()
);

create index if not exists dbt_node_results_run_idx
    on audit.dbt_node_results (airflow_run_id, unique_id, recorded_at);
