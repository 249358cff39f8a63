"""Twelve consecutive months through the real DAG, oldest first, as a backfill runs them.

Each month's run builds only its own month (incremental marts); every month must end
with its own brief facts and PDFs, and the comparisons must reach back across the runs.
"""

from __future__ import annotations

import pytest
from e2e_pipeline import pipeline_env

from strategy_briefs import warehouse
from strategy_briefs.cli import CliError, run_month
from strategy_briefs.config import Settings
from strategy_briefs.orchestration.history import load_history
from strategy_briefs.periods import Period, months_between

pytestmark = pytest.mark.e2e

FIRST, LAST = Period(2019, 7), Period(2020, 6)


@pytest.fixture(scope="module")
def backfill(fresh_database, airflow_db, dbt_manifest, tmp_path_factory):
    params = fresh_database("sb_backfill")
    # The schedule starts at the first backfilled month, as an operator would set it.
    with pipeline_env(
        params, tmp_path_factory.mktemp("backfill"), STRATEGY_BRIEFS_FIRST_MONTH=str(FIRST)
    ):
        settings = Settings.from_env()
        load_history(settings, before=FIRST)  # 2019-01 .. 2019-06, one full dbt build
        pdfs = {}
        for month in months_between(FIRST, LAST):
            pdfs[str(month)] = run_month(settings, month, conf={"dry_run": True})
        yield settings, params, pdfs


def test_a_month_before_the_schedule_start_is_refused(backfill):
    settings, _, _ = backfill
    with pytest.raises(CliError, match="STRATEGY_BRIEFS_FIRST_MONTH"):
        run_month(settings, FIRST.shift(-1), conf={"dry_run": True})


def test_every_month_has_its_special_edition_and_line_briefs(backfill):
    _, _, pdfs = backfill
    assert list(pdfs) == [str(m) for m in months_between(FIRST, LAST)]
    for month, paths in pdfs.items():
        names = {p.name for p in paths}
        assert f"special-edition-{month}.pdf" in names, month
        assert len(names) == 5, (month, names)


def test_every_month_has_brief_facts_for_every_line_of_business(backfill):
    _, params, _ = backfill
    with warehouse.connect(params) as conn:
        rows = conn.execute(
            "select to_char(period, 'YYYY-MM'), count(distinct lob_code) from marts.brief_facts"
            " group by 1 order by 1"
        ).fetchall()
    by_month = dict(rows)
    for month in months_between(FIRST, LAST):
        assert by_month.get(str(month)) == 4, month


def test_comparisons_reach_back_across_runs(backfill):
    """June 2020's 同比 reads June 2019 (history) and its 环比 reads May 2020 (a backfill run)."""
    _, params, _ = backfill
    with warehouse.connect(params) as conn:
        yoy, mom = conn.execute(
            "select yoy_change, mom_change from marts.brief_facts"
            " where period = '2020-06-01' and kpi_code = 'mb_monthly_active'"
        ).fetchone()
    assert round(float(yoy) * 100, 1) == 17.7
    assert mom is not None
