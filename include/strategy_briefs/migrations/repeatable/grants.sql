-- Repeatable, run by every `strategy-briefs warehouse migrate` AFTER the numbered files
-- (strategy_briefs.schema_migrations): every grant of the three roles (roles.sql,
-- docs/security.md), re-asserted each time, so a grant revoked by hand, or a table a new
-- migration adds, is covered on the next migrate. A new table's grants belong here, not in
-- its numbered migration (which runs only once).

-- Nobody but the owner creates objects in public (already PostgreSQL 15's default).
revoke create on schema public from public;

-- raw: the loader replaces a (period, lob_code) and audits every attempt; DELETE ... WHERE and
-- INSERT ... RETURNING need SELECT. The identity column needs no sequence grant.
grant usage on schema raw to sb_loader, sb_transformer, sb_reporter;
grant select, insert, update on raw.load_audit to sb_loader;
grant select, insert, delete on raw.lob_figures to sb_loader;
grant select on raw.load_audit, raw.lob_figures to sb_transformer;
-- The departments' highlights (005_highlights.sql): the same rights as the figures.
grant select, insert, delete on raw.lob_highlights to sb_loader;
grant select on raw.lob_highlights to sb_transformer;
-- The staging area (008_staged_loads.sql): only the loader, which stages each file (UPDATE:
-- the staged file's counts once its COPY is done) and deletes what the publish moved.
grant select, insert, update, delete on raw.staged_loads to sb_loader;
grant select, insert, delete on raw.staged_figures to sb_loader;
-- The quality gate checks which lines of business loaded.
grant select on raw.load_audit to sb_reporter;

-- dbt's schemas belong to the transformer, and so does everything already in them (a
-- warehouse built before these grants, or by the owner's own dbt run, is handed over).
do $$
declare
    schema_name text;
    relation record;
begin
    foreach schema_name in array array['staging', 'intermediate', 'marts', 'seeds'] loop
        if not exists (select 1 from pg_namespace where nspname = schema_name) then
            execute format('create schema %I authorization sb_transformer', schema_name);
        elsif (select pg_get_userbyid(nspowner) from pg_namespace where nspname = schema_name)
              <> 'sb_transformer' then
            execute format('alter schema %I owner to sb_transformer', schema_name);
        end if;
        for relation in
            select c.relname, c.relkind
            from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = schema_name
              and c.relkind in ('r', 'p', 'v', 'm', 'f')
              and pg_get_userbyid(c.relowner) <> 'sb_transformer'
        loop
            execute format(
                'alter %s %I.%I owner to sb_transformer',
                case relation.relkind
                    when 'v' then 'view'
                    when 'm' then 'materialized view'
                    when 'f' then 'foreign table'
                    else 'table'
                end,
                schema_name,
                relation.relname
            );
        end loop;
    end loop;
end $$;

-- The on-run-end hook records every node's outcome; the gate reads them.
grant usage on schema audit to sb_transformer, sb_reporter;
grant insert on audit.dbt_node_results to sb_transformer;
grant select on audit.dbt_node_results to sb_reporter;
-- Operator notices (006_operator_notices.sql): the CLI and the next run read them.
grant select on audit.operator_notices to sb_reporter;

-- The reporter reads the marts, including the tables dbt creates later.
grant usage on schema marts to sb_reporter;
grant select on all tables in schema marts to sb_reporter;
alter default privileges for role sb_transformer in schema marts
    grant select on tables to sb_reporter;

-- ... and writes only the delivery ledger (rows are never deleted).
grant usage on schema delivery to sb_reporter;
grant select, insert, update on delivery.ledger to sb_reporter;
-- Editors' decisions (007_approvals.sql): recorded and read by the reporter.
grant select, insert on delivery.approvals to sb_reporter;
