-- Least-privilege login roles, one per kind of task (docs/security.md):
--   sb_loader       writes raw (the ingest tasks), nothing else;
--   sb_transformer  dbt: reads raw, owns staging / intermediate / marts / seeds, records its
--                   node results in audit.dbt_node_results;
--   sb_reporter     rendering and delivery: reads the marts, raw.load_audit and the dbt
--                   results for the quality gate, writes only delivery.ledger.
-- Runs as the warehouse's owner (WAREHOUSE_URL). Roles are cluster-wide, so every step is
-- idempotent and a second database on the same server migrates too. No password here: they
-- are set at deploy time from WAREHOUSE_*_PASSWORD (strategy_briefs.roles.set_passwords).
-- Role names are repeated in strategy_briefs/roles.py; tests/security checks they agree.

do $$
declare
    role_name text;
begin
    foreach role_name in array array['sb_loader', 'sb_transformer', 'sb_reporter'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            begin
                execute format(
                    'create role %I login nosuperuser nocreatedb nocreaterole noreplication'
                    ' nobypassrls',
                    role_name
                );
            exception when duplicate_object or unique_violation then
                null;  -- another database's migration created it a moment ago
            end;
        elsif exists (
            select 1 from pg_roles
            where rolname = role_name
              and (rolsuper or rolcreatedb or rolcreaterole or rolreplication or rolbypassrls
                   or not rolcanlogin)
        ) then
            -- Someone widened it by hand: back to a plain login.
            execute format(
                'alter role %I login nosuperuser nocreatedb nocreaterole noreplication'
                ' nobypassrls',
                role_name
            );
        end if;
    end loop;
end $$;

-- A non-superuser owner (CREATEROLE, as in the compose stack) must be able to SET ROLE to
-- the transformer to hand it the dbt schemas and to set its default privileges. From
-- PostgreSQL 16 creating a role gives its creator only the ADMIN option, not SET; and only
-- a holder of ADMIN (the role's creator) or a superuser may grant it.
do $$
declare
    can_set boolean;
begin
    if (select rolsuper from pg_roles where rolname = current_user) then
        return;
    end if;
    if current_setting('server_version_num')::int >= 160000 then
        execute 'select pg_has_role(current_user, ''sb_transformer'', ''SET'')' into can_set;
    else
        can_set := pg_has_role(current_user, 'sb_transformer', 'MEMBER');
    end if;
    if not can_set then
        execute format('grant sb_transformer to %I', current_user);
    end if;
end $$;

-- Database level: connect (the compose stack revokes it from PUBLIC); dbt's incremental
-- models build through temporary tables.
do $$
begin
    execute format(
        'grant connect on database %I to sb_loader, sb_transformer, sb_reporter',
        current_database()
    );
    execute format('grant temporary on database %I to sb_transformer', current_database());
end $$;

-- Nobody but the owner creates objects in public (already PostgreSQL 15's default).
revoke create on schema public from public;

-- raw: the loader replaces a (period, lob_code) and audits every attempt; DELETE ... WHERE and
-- INSERT ... RETURNING need SELECT. The identity column needs no sequence grant.
grant usage on schema raw to sb_loader, sb_transformer, sb_reporter;
grant select, insert, update on raw.load_audit to sb_loader;
grant select, insert, delete on raw.lob_figures to sb_loader;
grant select on raw.load_audit, raw.lob_figures to sb_transformer;
-- The quality gate checks which lines of business loaded.
grant select on raw.load_audit to sb_reporter;

-- dbt's schemas belong to the transformer, and so does everything already in them (a
-- warehouse built before this migration, or by the owner's own dbt run, is handed over).
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

-- The reporter reads the marts, including the tables dbt creates later.
grant usage on schema marts to sb_reporter;
grant select on all tables in schema marts to sb_reporter;
alter default privileges for role sb_transformer in schema marts
    grant select on tables to sb_reporter;

-- ... and writes only the delivery ledger (rows are never deleted).
grant usage on schema delivery to sb_reporter;
grant select, insert, update on delivery.ledger to sb_reporter;
