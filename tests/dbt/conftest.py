"""Fixtures for the dbt project: a warehouse with a known raw history, seeded and built by month.

dbt runs in-process (dbtRunner) against the session database (`warehouse_params`), with its
target and logs in a temporary directory so parallel runs never share dbt_project/target.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sample_raw_rows import load_figures, month_range, sample_figures

from strategy_briefs import warehouse
from strategy_briefs.config import Settings

DBT_PROJECT_DIR = Settings.from_env().dbt_project_dir
# (period, command): January only needs its rows; the other two also run every test
BUILT_MONTHS = [("2020-01", "run"), ("2020-05", "build"), ("2020-06", "build")]


@dataclass
class DbtProject:
    target_dir: Path

    def invoke(self, *args: str, period: str | None = None):
        """Run one dbt command; returns dbt's result object (`.success`, `.result`)."""
        from dbt.cli.main import dbtRunner

        argv = [
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(self.target_dir / "target"),
            "--log-path",
            str(self.target_dir / "logs"),
        ]
        if period is not None:
            argv += ["--vars", json.dumps({"period": period})]
        return dbtRunner().invoke(argv)

    def build_month(self, period: str, command: str = "build"):
        return self.invoke(command, "--exclude", "resource_type:seed", period=period)


def failed_nodes(result) -> list[str]:
    return [r.node.name for r in result.result.results if str(r.status) in ("fail", "error")]


@pytest.fixture(scope="session")
def dbt_project(warehouse_params, tmp_path_factory) -> Iterator[DbtProject]:
    """The session database loaded with sample history, seeded, and built for BUILT_MONTHS."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in warehouse_params.dbt_env().items():
            env.setenv(name, value)
        with warehouse.connect(warehouse_params) as conn:
            load_figures(conn, sample_figures(month_range(date(2019, 5, 1), date(2020, 7, 1))))
        project = DbtProject(tmp_path_factory.mktemp("dbt"))
        seeded = project.invoke("seed")
        assert seeded.success, "dbt seed failed"
        for period, command in BUILT_MONTHS:
            built = project.build_month(period, command)
            assert built.success, f"dbt {command} {period} failed: {failed_nodes(built)}"
        yield project
