"""A month is all or nothing (issue 17): the ingest SIGKILLed at each stage.

The run is `month_run.py` (the functions the DAG's load and publish tasks call) in a
process of its own. Each test stops it at a known point (`kill_points`: a lock on the row it
is about to write, or a large COPY under way), checks where it stands, SIGKILLs it, waits
for its server process to roll back, and compares the month with a digest of the state
before: figures, highlights and the 'loaded' audit rows. The kill during dbt is in
tests/dbt/test_dbt_marts.py, beside the built marts it checks.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from strategy_briefs import warehouse
from strategy_briefs.ingest import load_month
from strategy_briefs.warehouse import WarehouseParams
from strategy_briefs_demo.sample_data import write_large_submission
from tests.helpers.kill_points import blocked_by, ended, eventually, sigkill

pytestmark = pytest.mark.usefixtures("test_months")
MONTH_RUN = Path(__file__).with_name("month_run.py")
LINES = ["mobile_banking", "credit_card", "precious_metals", "private_banking"]  # article order


@dataclass(frozen=True)
class Month:
    period: str
    new_dir: Path  # the run's files: the 2020-07 sample, re-dated, with other highlights


def write_highlights(folder: Path, period: str, text: str) -> None:
    path = folder / period / "highlights" / "credit_card.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"period,lob_code,item_no,opener,text\n{period},credit_card,1,{text}。,{text}的正文。\n",
        encoding="utf-8",
    )


@pytest.fixture
def month(request, warehouse_params, catalogue, tmp_path, copy_sample_month) -> Month:
    """The month loaded from the 2020-06 sample (its state before the run), and the run's
    files from the 2020-07 sample; each test has a month of its own."""
    period = request.param
    copy_sample_month("2020-06", tmp_path / "old", period)
    write_highlights(tmp_path / "old", period, "旧要点")
    load_month(warehouse_params, tmp_path / "old", period, catalogue)
    copy_sample_month("2020-07", tmp_path / "new", period)
    write_highlights(tmp_path / "new", period, "新要点")
    return Month(period, tmp_path / "new")


@pytest.fixture
def admin(warehouse_params) -> psycopg.Connection:
    """Autocommit: the test's own reads hold no lock past their statement."""
    with warehouse.connect(warehouse_params, autocommit=True) as conn:
        yield conn


def month_state(conn, period: str) -> tuple:
    """Digest of the month's figures and highlights, and its 'loaded' audit rows."""
    month = f"{period}-01"
    return conn.execute(
        "select"
        " (select md5(coalesce(string_agg(f::text, E'\\n' order by f.lob_code, f.kpi_code,"
        "   f.entity_type, f.entity_code), '')) from raw.lob_figures f where f.period = %s),"
        " (select count(*) from raw.lob_figures where period = %s),"
        " (select md5(coalesce(string_agg(h::text, E'\\n' order by h.lob_code, h.item_no), ''))"
        "   from raw.lob_highlights h where h.period = %s),"
        " (select array_agg(load_id order by load_id) from raw.load_audit"
        "   where period = %s and status = 'loaded')",
        (month, month, month, month),
    ).fetchone()


def staged_lines(conn, run_key: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "select lob_code from raw.staged_loads where run_key = %s order by lob_code",
            (run_key,),
        )
    ]


def month_run(params: WarehouseParams, incoming: Path, period: str, run_key: str, what: str):
    return subprocess.Popen(
        [sys.executable, str(MONTH_RUN), params.url(), str(incoming), period, run_key, what],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def completed(process: subprocess.Popen) -> None:
    _out, err = process.communicate()
    assert process.returncode == 0, err


@pytest.mark.parametrize("month", ["2031-01"], indirect=True)
def test_killed_during_a_copy_into_staging(month, warehouse_params, admin):
    write_large_submission(
        month.new_dir / month.period / "mobile_banking.csv", 100_000, period=month.period
    )
    before = month_state(admin, month.period)
    run = month_run(warehouse_params, month.new_dir, month.period, "kill-copy", "all")
    copying = eventually(
        lambda: admin.execute(
            "select p.pid, p.tuples_processed from pg_stat_progress_copy p"
            " join pg_stat_activity a using (pid)"
            " where a.datname = current_database() and a.application_name = %s"
            " and p.tuples_processed > 0",
            ("strategy_briefs.ingest",),
        ).fetchone(),
        "the first line's COPY under way",
    )
    sigkill(run)
    ended(admin, [copying[0]])
    assert staged_lines(admin, "kill-copy") == []  # the line's COPY never committed
    assert month_state(admin, month.period) == before


@pytest.mark.parametrize("month", ["2031-02"], indirect=True)
def test_killed_between_two_lines_loads_then_a_rerun_publishes_the_month(
    month, warehouse_params, admin
):
    # An earlier try of the third line, row-locked: the run stops as it starts that line.
    (stale,) = admin.execute(
        "insert into raw.staged_loads (run_key, period, lob_code, source_file, source_sha256,"
        " row_count) values ('kill-between', %s, 'precious_metals', 'x', '', 0)"
        " returning stage_id",
        (f"{month.period}-01",),
    ).fetchone()
    before = month_state(admin, month.period)
    with warehouse.connect(warehouse_params) as holder:
        holder.execute("select 1 from raw.staged_loads where stage_id = %s for update", (stale,))
        run = month_run(warehouse_params, month.new_dir, month.period, "kill-between", "all")
        ((pid, query),) = eventually(blocked_by(admin, holder.info.backend_pid), "line 3 wait")
        assert query.startswith("delete from raw.staged_loads")
        # two lines staged and committed, the third not begun: that is where the run dies
        assert staged_lines(admin, "kill-between") == [
            "credit_card",
            "mobile_banking",
            "precious_metals",
        ]
        sigkill(run)
        holder.rollback()
    ended(admin, [pid])
    assert month_state(admin, month.period) == before

    completed(month_run(warehouse_params, month.new_dir, month.period, "kill-between", "all"))
    after = month_state(admin, month.period)
    assert after[0] != before[0] and after[2] != before[2]
    assert staged_lines(admin, "kill-between") == []
    loads = admin.execute(
        "select distinct a.lob_code, a.run_id from raw.lob_figures f join raw.load_audit a"
        " using (load_id) where f.period = %s order by 1",
        (f"{month.period}-01",),
    ).fetchall()
    assert loads == [(lob, "kill-between") for lob in sorted(LINES)]


@pytest.mark.parametrize("month", ["2031-03"], indirect=True)
def test_killed_during_publish_then_the_staged_month_publishes(month, warehouse_params, admin):
    completed(month_run(warehouse_params, month.new_dir, month.period, "kill-publish", "stage"))
    before = month_state(admin, month.period)
    with warehouse.connect(warehouse_params) as holder:
        # The third line's figures, row-locked: the publish stops inside its transaction,
        # the first two lines already swapped there.
        holder.execute(
            "select 1 from raw.lob_figures where period = %s and lob_code = 'precious_metals'"
            " limit 1 for update",
            (f"{month.period}-01",),
        )
        run = month_run(warehouse_params, month.new_dir, month.period, "kill-publish", "publish")
        ((pid, query),) = eventually(blocked_by(admin, holder.info.backend_pid), "publish wait")
        assert query.startswith("delete from raw.lob_figures")
        sigkill(run)
        holder.rollback()
    ended(admin, [pid])
    assert month_state(admin, month.period) == before
    assert staged_lines(admin, "kill-publish") == sorted(LINES)  # still there to publish

    completed(month_run(warehouse_params, month.new_dir, month.period, "kill-publish", "publish"))
    after = month_state(admin, month.period)
    assert after[0] != before[0] and after[2] != before[2]
    # one 'loaded' audit row per line, and one for the credit-card highlights file
    assert len(after[3]) == len(before[3]) + len(LINES) + 1
    assert staged_lines(admin, "kill-publish") == []
