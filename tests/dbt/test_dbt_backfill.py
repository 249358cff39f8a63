"""Twelve consecutive months built incrementally by dbt, oldest first, as a backfill runs them.

The bundled history (2019-01 .. 2019-06) goes through the loader and one full build, as
`load_history` does; then each month 2019-07 .. 2020-06 is loaded and built with
`--vars '{period: YYYY-MM}'`, as the DAG's load and warehouse tasks do. Every month must
end with its own brief facts, each month's build must write that month's marts rows and no
others, the comparisons must reach back across the builds, and a later month's build must
leave the earlier months' marts rows as they were.

The months are built on one parsed project (a change of `--vars` would make dbt parse it
anew each month). Months 1-11 run the models only; the twelfth is a full `dbt build`, so
every data test also passes on a warehouse that eleven incremental months have built. The
tests' own behaviour, month by month, is tests/dbt/test_dbt_marts.py's.

The same twelve months through the real DAG are `bench/bench_backfill.py` (`make bench`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from dbt_harness import DbtProject, failed_nodes

from strategy_briefs import warehouse
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import Settings
from strategy_briefs.ingest import load_month
from strategy_briefs.orchestration.history import submitted_months
from strategy_briefs.periods import Period, months_between
from strategy_briefs_demo.published import read_page

FIRST, LAST = Period(2019, 7), Period(2020, 6)
BACKFILLED = list(months_between(FIRST, LAST))
MARTS = ("brief_facts", "fct_kpi_values_monthly", "fct_branch_standings", "fct_peer_standings")


@dataclass
class Backfill:
    params: warehouse.WarehouseParams
    # month -> marts rows' digest, taken right after that month's own build
    digest_after_own_build: dict[str, str]
    # month -> rows its build inserted into each mart, as dbt reported them
    rows_written: dict[str, dict[str, int]]


def rows_inserted(result) -> dict[str, int]:
    """Rows each incremental mart's build inserted, from dbt's adapter responses."""
    return {
        r.node.name: r.adapter_response["rows_affected"]
        for r in result.result.results
        if r.node.name in MARTS
    }


def marts_digest(params, month: Period) -> str:
    """One md5 over every marts row of `month`, in a fixed order."""
    parts = []
    with warehouse.connect(params) as conn:
        for table in MARTS:
            (digest,) = conn.execute(
                f"select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                f" from marts.{table} t where period = %s",
                (month.first_day,),
            ).fetchone()
            parts.append(f"{table}:{digest}")
    return ";".join(parts)


@pytest.fixture(scope="module")
def backfill(fresh_database, tmp_path_factory) -> Backfill:
    params = fresh_database("sb_dbt_backfill")
    settings = Settings.from_env()
    catalogue = load_catalogue(settings.seeds_dir)
    months = submitted_months(settings.incoming_dir)
    assert set(BACKFILLED) <= set(months)
    project = DbtProject(tmp_path_factory.mktemp("dbt_backfill"))
    with pytest.MonkeyPatch.context() as env:
        for name, value in params.dbt_env().items():
            env.setenv(name, value)
        for month in (m for m in months if m < FIRST):
            load_month(params, settings.incoming_dir, str(month), catalogue)
        history = project.invoke("build", "--full-refresh")
        assert history.success, f"history build failed: {failed_nodes(history)}"
        project.parse()
        digests, written = {}, {}
        for month in BACKFILLED:
            load_month(params, settings.incoming_dir, str(month), catalogue)
            command = "build" if month == LAST else "run"
            built = project.build_month(str(month), command)
            assert built.success, f"dbt {command} {month} failed: {failed_nodes(built)}"
            digests[str(month)] = marts_digest(params, month)
            written[str(month)] = rows_inserted(built)
    return Backfill(params, digests, written)


def test_every_month_has_brief_facts_for_every_line_of_business(backfill):
    with warehouse.connect(backfill.params) as conn:
        rows = conn.execute(
            "select to_char(period, 'YYYY-MM'), count(distinct lob_code) from marts.brief_facts"
            " group by 1 order by 1"
        ).fetchall()
    by_month = dict(rows)
    for month in BACKFILLED:
        assert by_month.get(str(month)) == 4, month


def test_each_build_writes_its_own_month_only(backfill):
    """Incremental by month: a build inserts exactly its month's rows, not the history's."""
    with warehouse.connect(backfill.params) as conn:
        for month in BACKFILLED:
            written = backfill.rows_written[str(month)]
            assert set(written) == set(MARTS), month
            for table in MARTS:
                (held,) = conn.execute(
                    f"select count(*) from marts.{table} where period = %s", (month.first_day,)
                ).fetchone()
                assert written[table] == held > 0, (month, table)


def test_comparisons_reach_back_across_builds(backfill):
    """June 2020's 同比 reads June 2019 (history) and its 环比 reads May 2020 (a backfill build)."""
    with warehouse.connect(backfill.params) as conn:
        yoy, mom = conn.execute(
            "select yoy_change, mom_change from marts.brief_facts"
            " where period = '2020-06-01' and kpi_code = 'mb_monthly_active'"
        ).fetchone()
    assert round(float(yoy) * 100, 1) == 17.7
    assert mom is not None


def test_the_published_year_on_year_rates_are_what_the_build_computes(backfill):
    """Each 同比 rate the page publishes for a month built here is dbt's, to the page's
    decimals, from the bundled sample's two months (the later one published, the earlier
    one derived by the demo's generator)."""
    stated = [s for s in read_page().statements if s.measure == "yoy_rate" and s.period <= LAST]
    assert {s.kpi_code for s in stated} >= {"mb_monthly_active", "mb_txn_count_ytd"}
    with warehouse.connect(backfill.params) as conn:
        for rate in stated:
            change, unit = conn.execute(
                "select yoy_change, change_unit from marts.brief_facts"
                " where period = %s and kpi_code = %s and branch_name is null",
                (rate.period.first_day, rate.kpi_code),
            ).fetchone()
            assert (unit, (change * 100).quantize(rate.value)) == ("rate", rate.value), rate


def test_later_builds_leave_earlier_months_untouched(backfill):
    for month in BACKFILLED[:-1]:
        before = backfill.digest_after_own_build[str(month)]
        assert "d41d8cd98f00b204e9800998ecf8427e" not in before, f"{month} has an empty mart"
        assert marts_digest(backfill.params, month) == before, month
