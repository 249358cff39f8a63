-- Repeatable, run by every `strategy-briefs warehouse migrate` BEFORE the numbered files
-- (strategy_briefs.schema_migrations): the least-privilege login roles exist, with no more
-- than a plain login, before any migration or grants.sql names them. Never recorded as
-- applied, so an edit here takes effect on the next migrate.
--
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
