"""Fixtures for the dbt project: a warehouse with a known raw history, seeded and built by month.

dbt runs in-process (dbtRunner) against the session database (`warehouse_params`), with its
target and logs in a temporary directory so parallel runs never share dbt_project/target.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dbt_harness import BUILT_MONTHS, DbtProject, failed_nodes
from sample_raw_rows import load_figures, sample_figures

from strategy_briefs import warehouse


@pytest.fixture(scope="session")
def dbt_project(warehouse_params, tmp_path_factory) -> Iterator[DbtProject]:
    """The session database loaded with sample history, seeded, and built for BUILT_MONTHS."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in warehouse_params.dbt_env().items():
            env.setenv(name, value)
        with warehouse.connect(warehouse_params) as conn:
            load_figures(conn, sample_figures())
        project = DbtProject(tmp_path_factory.mktemp("dbt"))
        seeded = project.invoke("seed")
        assert seeded.success, "dbt seed failed"
        for period, command in BUILT_MONTHS:
            built = project.build_month(period, command)
            assert built.success, f"dbt {command} {period} failed: {failed_nodes(built)}"
        yield project
