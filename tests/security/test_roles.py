"""Least-privilege roles (repeatable/roles.sql and grants.sql, run by every migrate) on a
real PostgreSQL.

Each role does its real job (the loader loads a bundled submission, the transformer runs
`dbt build`, the reporter reads the marts and writes the ledger) and is refused everything
else with `InsufficientPrivilege`.

The module builds its own database next to the session's: other test modules run dbt as the
owner in the session database, and this one must see dbt run as the transformer from the
start. It is also the "second database on the same server" case, since the session
database's migration has already created the (cluster-wide) roles.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from strategy_briefs import roles, warehouse
from strategy_briefs.catalogue import Catalogue, load_catalogue
from strategy_briefs.config import Settings
from strategy_briefs.dbt_command import run_dbt
from strategy_briefs.ingest import SubmissionInvalid, find_submissions, load_submission
from strategy_briefs.warehouse import WarehouseParams

PERIOD = "2020-06"
PRIOR = "2020-05"


@dataclass(frozen=True)
class Secured:
    admin: WarehouseParams
    loader: WarehouseParams
    transformer: WarehouseParams
    reporter: WarehouseParams
    catalogue: Catalogue
    incoming: Path


def _run_dbt_as(params: WarehouseParams, *args: str) -> None:
    """The dbt CLI logging in as `params` only: every profile variable comes from them."""
    run_dbt(Settings.from_env().dbt_project_dir, *args, env=params.dbt_env())


@pytest.fixture(scope="module")
def secured(
    warehouse_params: WarehouseParams, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Secured]:
    server = warehouse_params.with_dbname("postgres")
    dbname = f"sb_sec_{uuid.uuid4().hex[:10]}"
    warehouse.create_database_if_missing(server, dbname)
    admin = server.with_dbname(dbname)
    try:
        warehouse.migrate(admin)
        warehouse.migrate(admin)  # roles and grants run again on every migrate
        settings = Settings.from_env()
        catalogue = load_catalogue(settings.seeds_dir)
        loader = roles.role_params(admin, roles.LOADER)
        for month in (PRIOR, PERIOD):
            for lob_code, path in find_submissions(settings.incoming_dir, month).items():
                load_submission(loader, path, period=month, lob_code=lob_code, catalogue=catalogue)
        transformer = roles.role_params(admin, roles.TRANSFORMER)
        # `build` seeds, runs and tests; the on-run-end hook writes audit.dbt_node_results.
        _run_dbt_as(
            transformer,
            "build",
            "--vars",
            json.dumps({"period": PERIOD, "airflow_run_id": "security-test"}),
        )
        yield Secured(
            admin=admin,
            loader=loader,
            transformer=transformer,
            reporter=roles.role_params(admin, roles.REPORTER),
            catalogue=catalogue,
            incoming=settings.incoming_dir,
        )
    finally:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


def _denied(params: WarehouseParams, statement: str) -> None:
    with warehouse.connect(params) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(statement)


# -- the roles themselves -----------------------------------------------------------------


def test_role_names_match_the_migration():
    migration = (warehouse.MIGRATIONS_DIR / "repeatable" / "roles.sql").read_text(encoding="utf-8")
    for role in roles.ROLES:
        assert f"'{role}'" in migration


def test_roles_are_plain_logins(secured: Secured):
    with warehouse.connect(secured.admin) as conn:
        rows = conn.execute(
            "select rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole,"
            " rolreplication, rolbypassrls from pg_roles where rolname = any(%s)"
            " order by rolname",
            (list(roles.ROLES),),
        ).fetchall()
        memberships = conn.execute(
            "select r.rolname, m.rolname from pg_auth_members a"
            " join pg_roles r on r.oid = a.roleid join pg_roles m on m.oid = a.member"
            " where m.rolname = any(%s)",
            (list(roles.ROLES),),
        ).fetchall()
    assert rows == [(role, True, False, False, False, False, False) for role in sorted(roles.ROLES)]
    assert memberships == []  # no role inherits another's (or anyone's) privileges


def test_migration_grants_in_both_databases(secured: Secured, warehouse_params: WarehouseParams):
    """Roles are cluster-wide; the grants are per database and reach each one migrated."""
    for params in (warehouse_params, secured.admin):
        with warehouse.connect(params) as conn:
            granted = conn.execute(
                "select has_table_privilege('sb_loader', 'raw.lob_figures', 'INSERT'),"
                " has_table_privilege('sb_reporter', 'delivery.ledger', 'UPDATE'),"
                " has_table_privilege('sb_transformer', 'audit.dbt_node_results', 'INSERT'),"
                " (select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'marts'),"
                " has_table_privilege('sb_loader', 'raw.lob_highlights', 'INSERT'),"
                " has_table_privilege('sb_transformer', 'raw.lob_highlights', 'SELECT'),"
                " has_table_privilege('sb_transformer', 'raw.lob_highlights', 'INSERT'),"
                " has_table_privilege('sb_reporter', 'raw.lob_highlights', 'SELECT')"
            ).fetchone()
        assert granted == (True, True, True, roles.TRANSFORMER, True, True, False, False)


# -- loader -----------------------------------------------------------------------------------


def test_loader_replaces_a_month_of_a_real_submission(secured: Secured):
    path = find_submissions(secured.incoming, PERIOD)["mobile_banking"]
    result = load_submission(
        secured.loader, path, period=PERIOD, lob_code="mobile_banking", catalogue=secured.catalogue
    )
    assert result.row_count > 0
    assert result.replaced_rows == result.row_count  # the fixture's load, deleted and replaced


def test_loader_records_a_rejected_file(secured: Secured, tmp_path: Path):
    bad = tmp_path / "credit_card.csv"
    bad.write_text("not,a,submission\n", encoding="utf-8")
    with pytest.raises(SubmissionInvalid) as caught:
        load_submission(
            secured.loader, bad, period=PERIOD, lob_code="credit_card", catalogue=secured.catalogue
        )
    assert caught.value.load_id is not None
    with warehouse.connect(secured.admin) as conn:
        status = conn.execute(
            "select status from raw.load_audit where load_id = %s", (caught.value.load_id,)
        ).fetchone()
    assert status == ("rejected",)


@pytest.mark.parametrize(
    "statement",
    [
        "select count(*) from marts.brief_facts",
        "insert into marts.brief_facts (brief_fact_key) values ('x')",
        "delete from marts.brief_facts",
        "create table marts.loader_table (i int)",
        "create table raw.loader_table (i int)",
        "create schema loader_schema",
        "create table public.loader_table (i int)",
        "update raw.lob_figures set value_base = 0",
        "truncate raw.lob_figures",
        "drop table raw.lob_figures",
        "select count(*) from seeds.kpi_catalogue",
        "select count(*) from delivery.ledger",
        "select count(*) from audit.dbt_node_results",
    ],
)
def test_loader_cannot_touch_anything_but_raw(secured: Secured, statement: str):
    _denied(secured.loader, statement)


# -- transformer ------------------------------------------------------------------------------


def test_transformer_built_the_marts_it_owns(secured: Secured):
    with warehouse.connect(secured.admin) as conn:
        facts = conn.execute(
            "select count(*) from marts.brief_facts where period = %s", (f"{PERIOD}-01",)
        ).fetchone()[0]
        owners = conn.execute(
            "select distinct pg_get_userbyid(c.relowner) from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname in ('staging', 'intermediate', 'marts', 'seeds')"
            " and c.relkind in ('r', 'v')"
        ).fetchall()
        recorded = conn.execute(
            "select count(*) from audit.dbt_node_results where airflow_run_id = 'security-test'"
        ).fetchone()[0]
    assert facts > 0
    assert owners == [(roles.TRANSFORMER,)]
    assert recorded > 0


@pytest.mark.parametrize(
    "statement",
    [
        "insert into raw.lob_figures select * from raw.lob_figures limit 1",
        "update raw.lob_figures set value_base = 0",
        "delete from raw.lob_figures",
        "update raw.load_audit set status = 'rejected'",
        "create table raw.transformer_table (i int)",
        "select count(*) from delivery.ledger",
        "delete from audit.dbt_node_results",
        "create schema transformer_schema",
    ],
)
def test_transformer_only_reads_raw(secured: Secured, statement: str):
    _denied(secured.transformer, statement)


# -- reporter ---------------------------------------------------------------------------------


def test_reporter_reads_the_marts_and_the_gate_inputs(secured: Secured):
    from strategy_briefs.briefs.facts import load_brief_facts, load_kpi_history
    from strategy_briefs.delivery import check_gate
    from strategy_briefs.periods import Period

    facts = load_brief_facts(secured.reporter, Period.parse(PERIOD))
    assert {f.lob_code for f in facts} == set(secured.catalogue.lines_of_business)
    assert load_kpi_history(secured.reporter, Period.parse(PERIOD), months=2)
    gate = check_gate(
        secured.reporter,
        PERIOD,
        secured.catalogue.lines_of_business,
        [],
        dbt_results={"test.strategy_briefs.x": "pass"},
        freshness_results={},
    )
    assert gate.ok, gate.reasons  # every line of business loaded, read from raw.load_audit
    with warehouse.connect(secured.reporter) as conn:
        results = conn.execute(
            "select count(*) from audit.dbt_node_results where airflow_run_id = 'security-test'"
        ).fetchone()[0]
    assert results > 0


def test_reporter_writes_the_ledger(secured: Secured):
    from strategy_briefs.delivery import ledger
    from strategy_briefs.delivery.models import SmtpOutcome

    row = {
        "period": PERIOD,
        "brief_id": "security-test",
        "edition": 1,
        "recipient": "ceo@bank.example",
    }
    with warehouse.connect(secured.reporter, autocommit=True) as conn:
        assert ledger.record_intent(
            conn, **row, pdf_sha256="0" * 64, message_id="<t@bank.example>", reissue_reason=None
        )
        ledger.record_outcome(conn, **row, outcome=SmtpOutcome("accepted", 250, "OK"))
        rows = ledger.edition_rows(conn, PERIOD, "security-test", 1)
    assert rows["ceo@bank.example"].status == "accepted"


@pytest.mark.parametrize(
    "statement",
    [
        "update raw.lob_figures set value_base = 0",
        "delete from raw.lob_figures",
        "insert into raw.lob_figures select * from raw.lob_figures limit 1",
        "select count(*) from raw.lob_figures",
        "update raw.load_audit set status = 'loaded'",
        "update marts.brief_facts set value_base = 0",
        "delete from marts.brief_facts",
        "insert into marts.brief_facts select * from marts.brief_facts limit 1",
        "truncate marts.fct_kpi_values_monthly",
        "alter table marts.brief_facts add column forged text",
        "drop table marts.brief_facts",
        "drop schema marts cascade",
        "create table marts.reporter_table (i int)",
        "delete from delivery.ledger",
        "drop table delivery.ledger",
        "create table delivery.reporter_table (i int)",
        "insert into audit.dbt_node_results (invocation_id, unique_id, resource_type, status)"
        " values ('x', 'test.x', 'test', 'pass')",
        "select count(*) from staging.stg_raw__lob_figures",
        "select count(*) from seeds.kpi_catalogue",
    ],
)
def test_reporter_cannot_change_figures(secured: Secured, statement: str):
    _denied(secured.reporter, statement)


# -- migrating again ------------------------------------------------------------------------


def test_migration_hands_owner_built_dbt_objects_to_the_transformer(secured: Secured):
    """A warehouse built before the roles (dbt ran as the owner) keeps working after grants.sql."""
    with warehouse.connect(secured.admin, autocommit=True) as conn:
        conn.execute("create table marts.owner_built as select 1 as period")
    try:
        warehouse.migrate(secured.admin)
        with warehouse.connect(secured.admin) as conn:
            owner = conn.execute(
                "select pg_get_userbyid(relowner) from pg_class"
                " where oid = 'marts.owner_built'::regclass"
            ).fetchone()
        assert owner == (roles.TRANSFORMER,)
        with warehouse.connect(secured.reporter) as conn:
            assert conn.execute("select period from marts.owner_built").fetchone() == (1,)
        with warehouse.connect(secured.transformer, autocommit=True) as conn:
            conn.execute("alter table marts.owner_built add column added int")
    finally:
        with warehouse.connect(secured.admin, autocommit=True) as conn:
            conn.execute("drop table if exists marts.owner_built")


# -- passwords ------------------------------------------------------------------------------


def test_role_params_and_passwords_from_env():
    admin = WarehouseParams("db.bank.example", 5433, "owner", "owner-secret", "strategy_briefs")
    env = {"WAREHOUSE_LOADER_PASSWORD": "l-secret", "WAREHOUSE_REPORTER_PASSWORD": ""}
    params = roles.all_role_params(admin, roles.passwords_from(env))
    assert params[roles.LOADER] == WarehouseParams(
        "db.bank.example", 5433, "sb_loader", "l-secret", "strategy_briefs"
    )
    assert params[roles.TRANSFORMER].password == ""  # unset: trust auth, never the owner's
    assert params[roles.REPORTER].password == ""
    assert params[roles.TRANSFORMER].dbt_env()["WAREHOUSE_USER"] == "sb_transformer"
    with pytest.raises(ValueError, match="unknown warehouse role"):
        roles.role_params(admin, "postgres")


def test_set_passwords_stores_only_a_scram_verifier(secured: Secured):
    with warehouse.connect(secured.admin) as conn:
        if not conn.execute(
            "select rolsuper from pg_roles where rolname = current_user"
        ).fetchone()[0]:
            pytest.skip("reading pg_authid needs a superuser")
        before = conn.execute(
            "select rolpassword from pg_authid where rolname = %s", (roles.REPORTER,)
        ).fetchone()[0]
    try:
        changed = roles.set_passwords(
            secured.admin, {roles.REPORTER: "correct horse battery", roles.LOADER: None}
        )
        assert changed == [roles.REPORTER]
        with warehouse.connect(secured.admin) as conn:
            stored = conn.execute(
                "select rolpassword from pg_authid where rolname = %s", (roles.REPORTER,)
            ).fetchone()[0]
        assert stored.startswith("SCRAM-SHA-256$")
        assert "correct horse" not in stored
    finally:
        with warehouse.connect(secured.admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(roles.REPORTER), sql.Literal(before)
                )
            )


# -- a non-superuser owner (the compose stack's shape) ---------------------------------------


def test_a_non_superuser_owner_migrates_and_the_roles_work(warehouse_params: WarehouseParams):
    """Compose: the warehouse's owner has CREATEROLE only, and the database is closed to
    PUBLIC. The roles must still connect and the owner must still hand dbt's schemas over."""
    server = warehouse_params.with_dbname("postgres")
    with warehouse.connect(server, autocommit=True) as conn:
        superuser, version = conn.execute(
            "select rolsuper, current_setting('server_version_num')::int"
            " from pg_roles where rolname = current_user"
        ).fetchone()
        if not superuser:
            pytest.skip("creating a throwaway owner role needs a superuser")
        suffix = uuid.uuid4().hex[:10]
        owner, dbname = f"sb_owner_{suffix}", f"sb_owned_{suffix}"
        conn.execute(sql.SQL("create role {} login createrole").format(sql.Identifier(owner)))
        if version >= 160000:
            # In compose the owner created the roles, which gives it their ADMIN option;
            # here the session's migration (a superuser) created them first.
            conn.execute(
                sql.SQL("grant {} to {} with admin option, inherit false, set false").format(
                    sql.Identifier(roles.TRANSFORMER), sql.Identifier(owner)
                )
            )
        conn.execute(
            sql.SQL("create database {} owner {}").format(
                sql.Identifier(dbname), sql.Identifier(owner)
            )
        )
        conn.execute(
            sql.SQL("revoke all on database {} from public").format(sql.Identifier(dbname))
        )
    owned = WarehouseParams(server.host, server.port, owner, "", dbname)
    try:
        warehouse.migrate(owned)
        warehouse.migrate(owned)
        with warehouse.connect(owned, autocommit=True) as conn:
            conn.execute("create table marts.owner_built as select 1 as period")
        warehouse.migrate(owned)  # hands the owner's table to the transformer
        for role in roles.ROLES:
            with warehouse.connect(roles.role_params(owned, role)) as conn:
                assert conn.execute("select current_user").fetchone() == (role,)
        with warehouse.connect(roles.role_params(owned, roles.REPORTER)) as conn:
            assert conn.execute("select period from marts.owner_built").fetchone() == (1,)
        with warehouse.connect(roles.role_params(owned, roles.LOADER)) as conn:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("select period from marts.owner_built")
    finally:
        with warehouse.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(owner)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(owner)))
