"""Shared fixtures: every test session gets its own warehouse database, dropped afterwards.

The server is `WAREHOUSE_URL` (CI: the machine's PostgreSQL 15) or the embedded one.
With pytest-xdist (`-n 2 --dist loadfile`, docs/testing.md) each worker is a session of
its own here (its own Airflow home, warehouse database and output folder), and every test
file runs whole on one worker, so module fixtures are built once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Airflow reads its configuration when first imported: give the whole test session its
# own Airflow home (SQLite metadata) and outputs, and keep every component offline.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="strategy-briefs-tests-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SESSION_DIR / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_SESSION_DIR / 'airflow' / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(Path(__file__).resolve().parents[1] / "dags"),
        "STRATEGY_BRIEFS_OUTPUT": str(_SESSION_DIR / "output"),
        # Retries still happen, one second apart instead of thirty.
        "STRATEGY_BRIEFS_RETRY_DELAY_SECONDS": "1",
        # No person answers a test run: approvals are recorded as automatic; the approval
        # tests switch to 'required' and answer through the REST API.
        "STRATEGY_BRIEFS_APPROVAL": "auto",
        "STRATEGY_BRIEFS_VAR": os.environ.get(
            "STRATEGY_BRIEFS_VAR", str(Path(__file__).resolve().parents[1] / "var")
        ),
    }
)
from strategy_briefs.orchestration.environment import NO_TELEMETRY  # noqa: E402

os.environ.update(NO_TELEMETRY)
(_SESSION_DIR / "airflow").mkdir(parents=True, exist_ok=True)

from strategy_briefs import warehouse  # noqa: E402
from strategy_briefs.warehouse import WarehouseParams  # noqa: E402

# The files that take minutes (a real DAG month, the Celery month, twelve dbt builds, the
# Airflow UI), slowest first: `--dist loadfile` hands files out in collection order, so
# these start at once, one per worker, and the many short files fill in around them.
SLOWEST_FILES_FIRST = (
    "tests/e2e/test_monthly_run.py",
    "tests/e2e/test_editor_approval.py",
    "tests/scaleout/test_celery_executor.py",
    "tests/dbt/test_dbt_backfill.py",
    "tests/dbt/test_dbt_marts.py",
    "tests/ui/test_airflow_ui.py",
    "tests/briefs/test_brief_layout.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest files first; the order inside each file is kept (the sort is stable)."""
    rank = {path: index for index, path in enumerate(SLOWEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session")
def session_dir() -> Path:
    """A scratch folder for this test session (Airflow home, outputs)."""
    return _SESSION_DIR


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata database for this session, migrated the way the CLI does it (the
    installed version recorded beside it, so `run_month` finds it current)."""
    from strategy_briefs.cli import AIRFLOW_DB, migrate_airflow_db

    migrate_airflow_db(_SESSION_DIR / "airflow")
    return _SESSION_DIR / "airflow" / AIRFLOW_DB


@pytest.fixture(scope="session")
def warehouse_params() -> Iterator[WarehouseParams]:
    """A fresh, migrated database for this test session; `WAREHOUSE_URL` points at it."""
    import psycopg
    from psycopg import sql

    server = warehouse.resolve()
    dbname = f"sb_test_{uuid.uuid4().hex[:10]}"
    warehouse.create_database_if_missing(server, dbname)
    params = server.with_dbname(dbname)
    warehouse.migrate(params)
    previous = os.environ.get("WAREHOUSE_URL")
    os.environ["WAREHOUSE_URL"] = params.url()
    try:
        yield params
    finally:
        if previous is None:
            os.environ.pop("WAREHOUSE_URL", None)
        else:
            os.environ["WAREHOUSE_URL"] = previous
        with psycopg.connect(server.with_dbname("postgres").url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


@pytest.fixture(scope="session")
def fresh_database(warehouse_params: WarehouseParams):
    """Factory: another migrated database on the same server, dropped at session end."""
    import psycopg
    from psycopg import sql

    created: list[str] = []

    def make(prefix: str = "sb_test") -> WarehouseParams:
        dbname = f"{prefix}_{uuid.uuid4().hex[:10]}"
        warehouse.create_database_if_missing(warehouse_params, dbname)
        created.append(dbname)
        params = warehouse_params.with_dbname(dbname)
        warehouse.migrate(params)
        return params

    yield make
    with psycopg.connect(warehouse_params.with_dbname("postgres").url(), autocommit=True) as conn:
        for dbname in created:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


@pytest.fixture
def db(warehouse_params: WarehouseParams):
    """A psycopg 3 connection to the session database."""
    with warehouse.connect(warehouse_params) as conn:
        yield conn


@contextlib.contextmanager
def _dbt_target_lock(settings) -> Iterator[None]:
    """Both xdist workers may ask for the manifest or the docs: when the project changed, one
    runs dbt, the other waits (two dbt runs into one target folder would collide)."""
    lock_path = settings.dbt_manifest_path.parent / ".manifest.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """The dbt manifest Cosmos reads at DAG parse time, built ahead as set-up does."""
    from strategy_briefs.cli import build_manifest
    from strategy_briefs.config import Settings

    settings = Settings.from_env()
    with _dbt_target_lock(settings):
        return build_manifest(settings)


@pytest.fixture(scope="session")
def dbt_docs(dbt_manifest) -> Path:
    """The folder of the dbt docs Cosmos serves in the Airflow UI: the ones set-up generated
    when still current, else generated as set-up does without a warehouse."""
    from strategy_briefs.cli import build_docs, is_current
    from strategy_briefs.config import Settings

    settings = Settings.from_env()
    with _dbt_target_lock(settings):
        if not all(
            is_current(settings, settings.dbt_docs_dir / name)
            for name in ("index.html", "catalog.json")
        ):
            build_docs(settings, empty_catalog=True)
        return settings.dbt_docs_dir
