"""`strategy-briefs run` migrates Airflow's own metadata database when it is missing or was
last migrated by another Airflow version (cli.airflow_db_migrate_reason, _ensure_airflow_db).

The database is real: the session's SQLite metadata database, migrated by the same helper
the CLI uses (tests/conftest.py), copied so a test can record another version beside it.
One test runs `airflow db migrate` itself (about 15 s); the others read files only.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from strategy_briefs import cli
from strategy_briefs.config import Settings


@pytest.fixture
def home(airflow_db: Path, tmp_path: Path) -> Path:
    """An Airflow home holding a copy of the session's migrated metadata database."""
    home = tmp_path / "airflow"
    home.mkdir()
    shutil.copy(airflow_db, home / cli.AIRFLOW_DB)
    return home


def _alembic_revision(db_file: Path) -> str:
    with sqlite3.connect(db_file) as conn:
        return conn.execute("select version_num from alembic_version").fetchone()[0]


def test_the_session_database_records_the_installed_version(airflow_db: Path):
    recorded = (airflow_db.parent / cli.AIRFLOW_DB_VERSION).read_text(encoding="utf-8")
    assert recorded.strip() == cli.installed_airflow_version()
    assert cli.airflow_db_migrate_reason(airflow_db.parent, cli.installed_airflow_version()) is None


def test_a_database_of_another_version_or_of_none_recorded_is_migrated(home: Path):
    installed = cli.installed_airflow_version()
    assert cli.airflow_db_migrate_reason(home, installed) == (
        "the Airflow version that migrated it was not recorded"
    )
    (home / cli.AIRFLOW_DB_VERSION).write_text("3.2.1\n", encoding="utf-8")
    assert cli.airflow_db_migrate_reason(home, installed) == (
        f"migrated by Airflow 3.2.1, Airflow {installed} is installed"
    )
    (home / cli.AIRFLOW_DB).unlink()
    assert cli.airflow_db_migrate_reason(home, installed) == "no metadata database yet"


def test_an_upgrade_migrates_the_metadata_database_again(
    home: Path, airflow_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    (home / cli.AIRFLOW_DB_VERSION).write_text("3.2.1\n", encoding="utf-8")
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / cli.AIRFLOW_DB}")
    cli._ensure_airflow_db(Settings.from_env())
    assert "airflow db migrate: migrated by Airflow 3.2.1" in capsys.readouterr().err
    recorded = (home / cli.AIRFLOW_DB_VERSION).read_text(encoding="utf-8").strip()
    assert recorded == cli.installed_airflow_version()
    assert _alembic_revision(home / cli.AIRFLOW_DB) == _alembic_revision(airflow_db)
    assert cli.airflow_db_migrate_reason(home, recorded) is None
