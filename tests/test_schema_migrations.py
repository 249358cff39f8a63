"""Versioned warehouse migrations (strategy_briefs.schema_migrations) on a real PostgreSQL.

Each test migrates a database of its own, created empty. A "new release" is a copy of the
real migrations folder with a file added, edited or removed: the code under test is the
real migrator in every case.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from strategy_briefs import roles, schema_migrations, warehouse
from strategy_briefs.schema_migrations import MigrationFailed, SchemaNotCurrent
from strategy_briefs.warehouse import MIGRATIONS_DIR, WarehouseParams

NUMBERED = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
# Not idempotent on purpose: running it a second time fails ("already exists").
PROBE = "create table raw.probe (x int);\n"


@pytest.fixture
def empty_db(warehouse_params: WarehouseParams) -> Iterator[WarehouseParams]:
    server = warehouse_params.with_dbname("postgres")
    dbname = f"sb_mig_{uuid.uuid4().hex[:10]}"
    warehouse.create_database_if_missing(server, dbname)
    try:
        yield server.with_dbname(dbname)
    finally:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """A copy of the migrations folder, to add to or edit as a later release would."""
    return Path(shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations"))


def _scalar(params: WarehouseParams, query: str, args: tuple = ()):
    with warehouse.connect(params) as conn:
        return conn.execute(query, args).fetchone()[0]


def test_migrate_applies_each_numbered_file_once(empty_db: WarehouseParams):
    assert warehouse.migrate(empty_db) == NUMBERED
    assert warehouse.migrate(empty_db) == []
    applies = _scalar(
        empty_db,
        "select count(*) from public._yoyo_log where operation = 'apply'"
        " and migration_id not like 'repeatable/%%'",
    )
    assert applies == len(NUMBERED)
    schema_migrations.require_current(empty_db)


def test_a_new_numbered_file_is_applied_once_by_the_next_migrate(
    empty_db: WarehouseParams, release: Path
):
    schema_migrations.migrate(empty_db, release)
    (release / "900_probe.sql").write_text(PROBE, encoding="utf-8")
    with pytest.raises(SchemaNotCurrent, match=r"not applied: 900_probe\.sql.*warehouse migrate"):
        schema_migrations.require_current(empty_db, release)
    assert schema_migrations.migrate(empty_db, release) == ["900_probe.sql"]
    assert schema_migrations.migrate(empty_db, release) == []  # a re-run would fail
    schema_migrations.require_current(empty_db, release)


def test_a_changed_applied_migration_is_refused_naming_the_file(
    empty_db: WarehouseParams, release: Path
):
    schema_migrations.migrate(empty_db, release)
    edited = release / "002_delivery.sql"
    edited.write_text(edited.read_text(encoding="utf-8") + "-- an afterthought\n")
    (release / "900_probe.sql").write_text(PROBE, encoding="utf-8")
    with pytest.raises(SchemaNotCurrent, match=r"002_delivery\.sql has changed since it was"):
        schema_migrations.migrate(empty_db, release)
    # Refused before anything ran: the new file waits too.
    assert _scalar(empty_db, "select to_regclass('raw.probe')") is None
    with pytest.raises(SchemaNotCurrent, match=r"002_delivery\.sql has changed.*warehouse migrate"):
        schema_migrations.require_current(empty_db, release)


def test_an_applied_migration_missing_from_the_folder_is_refused(
    empty_db: WarehouseParams, release: Path
):
    (release / "900_probe.sql").write_text(PROBE, encoding="utf-8")
    schema_migrations.migrate(empty_db, release)
    (release / "900_probe.sql").unlink()  # the code of an older release
    with pytest.raises(SchemaNotCurrent, match=r"900_probe was applied .* newer release"):
        schema_migrations.require_current(empty_db, release)


def test_roles_and_grants_run_on_every_migrate(empty_db: WarehouseParams):
    warehouse.migrate(empty_db)
    with warehouse.connect(empty_db, autocommit=True) as conn:
        db = sql.Identifier(empty_db.dbname)
        conn.execute(sql.SQL("revoke all on database {} from public").format(db))
        conn.execute(sql.SQL("revoke connect on database {} from sb_loader").format(db))
        conn.execute("revoke select, insert on delivery.approvals from sb_reporter")
    assert warehouse.migrate(empty_db) == []  # nothing numbered left, yet ...
    with warehouse.connect(empty_db) as conn:
        connect, approvals = conn.execute(
            "select has_database_privilege('sb_loader', current_database(), 'CONNECT'),"
            " has_table_privilege('sb_reporter', 'delivery.approvals', 'INSERT')"
        ).fetchone()
    assert (connect, approvals) == (True, True)  # ... roles.sql and grants.sql ran again
    with warehouse.connect(roles.role_params(empty_db, roles.LOADER)) as conn:
        assert conn.execute("select current_user").fetchone() == (roles.LOADER,)


def test_a_warehouse_built_by_the_old_runner_is_taken_over(empty_db: WarehouseParams):
    """The old runner executed every file on every run, unrecorded; 001-007 are idempotent,
    so yoyo's first run applies them over the existing schema and records them."""
    repeatable = MIGRATIONS_DIR / "repeatable"
    old_run = [repeatable / "roles.sql", *sorted(MIGRATIONS_DIR.glob("*.sql"))]
    with warehouse.connect(empty_db) as conn:
        for path in [*old_run, repeatable / "grants.sql"]:
            conn.execute(path.read_text(encoding="utf-8"))
        conn.execute(
            "insert into delivery.approvals (period, run_id, policy, decision,"
            " decided_by, decided_at, pdf_sha256) values ('2020-06-01', 'r', 'auto',"
            " 'approved', 'test', now(), '{}')"
        )
    assert warehouse.migrate(empty_db) == NUMBERED
    schema_migrations.require_current(empty_db)
    assert _scalar(empty_db, "select count(*) from delivery.approvals") == 1  # data kept


def test_the_dag_check_refuses_a_stale_schema(
    empty_db: WarehouseParams, monkeypatch: pytest.MonkeyPatch
):
    """The first task that touches the warehouse checks it and fails at once (no retries)."""
    from airflow.sdk.exceptions import AirflowFailException

    from strategy_briefs.orchestration import tasks
    from strategy_briefs.orchestration.environment import WAREHOUSE_CONN_ID

    monkeypatch.setenv(f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}", empty_db.airflow_conn_json())
    with pytest.raises(AirflowFailException) as failed:
        tasks.validate_month("2020-06", "manual__test")
    message = str(failed.value)
    assert "not applied: 001_raw.sql" in message and NUMBERED[-1] in message
    assert "run `strategy-briefs warehouse migrate`" in message
    assert _scalar(empty_db, "select to_regclass('public._yoyo_migration')") is None  # read only


# -- the command line -------------------------------------------------------------------------


def test_warehouse_migrate_command_applies_then_reports_current(
    empty_db: WarehouseParams, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from strategy_briefs import cli

    monkeypatch.setenv("WAREHOUSE_URL", empty_db.url())
    assert cli.main(["warehouse", "migrate"]) == 0
    assert capsys.readouterr().out == f"applied: {', '.join(NUMBERED)}\n"
    assert cli.main(["warehouse", "migrate"]) == 0
    assert capsys.readouterr().out == "schema current: nothing to apply\n"


def test_other_commands_only_check_an_external_warehouse(
    empty_db: WarehouseParams, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from strategy_briefs import cli

    monkeypatch.setenv("WAREHOUSE_URL", empty_db.url())
    assert cli.main(["ledger", "--period", "2020-06"]) == 2
    error = capsys.readouterr().err
    assert "schema is not current (not applied: 001_raw.sql" in error
    assert error.rstrip().endswith("run `strategy-briefs warehouse migrate`")
    assert _scalar(empty_db, "select to_regclass('public._yoyo_migration')") is None


def test_a_failing_migration_is_named_and_stays_pending(empty_db: WarehouseParams, release: Path):
    (release / "900_probe.sql").write_text(PROBE, encoding="utf-8")
    (release / "901_broken.sql").write_text(
        "create table raw.half (x int);\nselect * from raw.no_such_table;\n", encoding="utf-8"
    )
    with pytest.raises(MigrationFailed, match=r"901_broken\.sql failed.*raw\.no_such_table"):
        schema_migrations.migrate(empty_db, release)
    assert _scalar(empty_db, "select to_regclass('raw.half')") is None  # rolled back whole
    assert _scalar(empty_db, "select to_regclass('raw.probe')") == "raw.probe"  # 900 stays
    with pytest.raises(SchemaNotCurrent, match=r"\(not applied: 901_broken\.sql\); run"):
        schema_migrations.require_current(empty_db, release)


def test_an_applied_migration_without_its_hash_is_recorded_by_the_next_migrate(
    empty_db: WarehouseParams,
):
    """yoyo marks a file applied, then we record its hash: a process stopped in between."""
    warehouse.migrate(empty_db)
    with warehouse.connect(empty_db, autocommit=True) as conn:
        conn.execute(f"delete from {schema_migrations.SHA_TABLE} where migration_id = '003_audit'")
    with pytest.raises(SchemaNotCurrent, match=r"sha256 not recorded: 003_audit\.sql"):
        schema_migrations.require_current(empty_db)
    assert warehouse.migrate(empty_db) == []  # not applied again ...
    schema_migrations.require_current(empty_db)  # ... but recorded
