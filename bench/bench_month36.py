"""Month 36 of a 36-month history against month 1, both through the real DAG.

The marts are incremental by month and the judgements read back at most
`judgement_history_months`, so a month must cost what month 1 did however long the
history grows. The bundled sample is 19 months (2019-01 .. 2020-07); this benchmark
extends it to 36 (2019-01 .. 2021-12) with the demo's own generator, outside the product:
the bundled months are copied as they are, and the 17 months after them come from the
same series carried forward (`write_history`).

Like with like. A month's run on a warehouse where the seeds were never built and no mart
exists yet (a deployment's very first month) builds the seeds and creates every table;
month 36 does neither. So both sides are warehouses bootstrapped the way the history is
(`load_history`: the loader, then one full `dbt build`, no DAG), each up to and including
the month timed: month 1's warehouse holds 2019-01 only, month 36's holds all 36 months.
Each side's month is then run through the DAG (`dag.test()`, dry_run) in a fresh process,
timed from outside, as `strategy-briefs run --period` and bench_backfill run a month: it
validates, stages and publishes its files again (the publish replaces the month whole),
rebuilds its month in every mart and renders its five PDFs. The two sides differ only in
the history the warehouse holds. Both are generated months without highlights, about 62
figures each. Rounds alternate (month 1, month 36, month 1, month 36); the best of each
counts. Each run gets its own copy of a freshly migrated Airflow metadata database, so
each task's duration is read from that run alone.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.bench_backfill import HISTORY, MONTH, _python
from bench.bench_month_stages import _stage, _task_durations
from bench.harness import ROOT, Result

# The demo's generator: moving to a `demo` package; this is its only import here.
from strategy_briefs import sample_data
from strategy_briefs.periods import Period, months_between

FIRST, LAST = Period(2019, 1), Period(2021, 12)
ROUNDS = 2
# A generated month's series grows at most this much a year: the sample's few young
# series (a card launched in 2020 at 6000 % a year) would otherwise reach absurd sizes.
MAX_EXTENDED_GROWTH = 0.5


def run() -> Result:
    import psycopg
    from psycopg import sql

    from strategy_briefs import warehouse

    server = os.environ.get("WAREHOUSE_URL")
    admin = warehouse.parse_url(server) if server else warehouse.resolve()
    scratch = Path(tempfile.mkdtemp(prefix="bench-month36-"))
    sides = {"month 1": str(FIRST), "month 36": str(LAST)}
    dbnames = {side: f"sb_bench_month36_{uuid.uuid4().hex[:8]}" for side in sides}
    load = [os.getloadavg()[0]]
    try:
        written = write_history(scratch / "incoming")
        migrated = _migrated_airflow_db(scratch)
        envs, bootstrap = {}, {}
        for side, month in sides.items():
            warehouse.create_database_if_missing(admin, dbnames[side])
            envs[side] = _side_env(admin.with_dbname(dbnames[side]).url(), scratch, side)
            started = time.perf_counter()
            _python(HISTORY, str(Period.parse(month).shift(1)), env=envs[side])
            bootstrap[side] = time.perf_counter() - started
        timings: dict[str, list[float]] = {side: [] for side in sides}
        tasks: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
        for round_no in range(ROUNDS):
            for side, month in sides.items():
                db = scratch / "airflow" / f"{side.replace(' ', '')}-{round_no}.db"
                shutil.copyfile(migrated, db)
                env = {**envs[side], "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}"}
                started = time.perf_counter()
                _python(MONTH, month, env=env)
                timings[side].append(time.perf_counter() - started)
                tasks[side].append(_task_durations(db))
                load.append(os.getloadavg()[0])
        facts = _history_facts(admin, dbnames)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with psycopg.connect(admin.with_dbname("postgres").url(), autocommit=True) as conn:
            for dbname in dbnames.values():
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(
                        sql.Identifier(dbname)
                    )
                )
    return _result(timings, tasks, bootstrap, facts, written, load)


def write_history(incoming: Path) -> int:
    """The 36 months under `incoming`: the bundled ones copied, the later ones generated."""
    shutil.copytree(ROOT / "data" / "incoming", incoming)
    bundled_last = Period.parse(sample_data.LAST_MONTH)
    later = {str(month) for month in months_between(bundled_last.shift(1), LAST)}
    rows: dict[tuple[str, str], list[tuple]] = {}
    for series in sample_data.all_series():
        extended = _carried_forward(series)
        if extended is None:
            continue
        for month, (text, note) in extended.values().items():
            if month in later:
                rows.setdefault((month, series.lob), []).append(
                    (month, series.lob, series.kpi, series.entity, text, series.unit, note)
                )
    for (month, lob), month_rows in rows.items():
        _write_csv(incoming / month / f"{lob}.csv", month_rows)
    return len(months_between(FIRST, LAST))


def _carried_forward(series: sample_data.Series) -> sample_data.Series | None:
    """The series over the sample's months and the later ones; None if it stops earlier.

    A series with a point in every month (the peers, derived month by month from the
    reporting bank) is carried forward along the trend through its first and last points:
    `Series` would otherwise extend the slope of its last two, noisy, months."""
    if series.last != sample_data.LAST_MONTH:
        return None  # the ranks the page gives for one month only
    points = series.points
    if len(points) > 2 and len(points) == len(sample_data.months(series.first, series.last)):
        ends = sorted(points)
        points = {ends[0]: points[ends[0]], ends[-1]: points[ends[-1]]}
    growth = (
        series.annual_growth if series.ratio else min(series.annual_growth, MAX_EXTENDED_GROWTH)
    )
    return dataclasses.replace(series, last=str(LAST), points=points, annual_growth=growth)


def _write_csv(path: Path, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(sample_data.HEADER)
        writer.writerows(rows)


def _migrated_airflow_db(scratch: Path) -> Path:
    """One migrated Airflow metadata database; each timed run gets a copy of it."""
    (scratch / "airflow").mkdir()
    db = scratch / "airflow" / "migrated.db"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(scratch / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    return db


def _side_env(url: str, scratch: Path, side: str) -> dict[str, str]:
    return {
        **os.environ,
        "WAREHOUSE_URL": url,
        "STRATEGY_BRIEFS_INCOMING": str(scratch / "incoming"),
        "STRATEGY_BRIEFS_OUTPUT": str(scratch / "output" / side.replace(" ", "")),
        "STRATEGY_BRIEFS_FIRST_MONTH": str(FIRST),
        "AIRFLOW_HOME": str(scratch / "airflow"),
    }


def _history_facts(admin, dbnames: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Each side's warehouse after its runs: (months, rows) in the figures mart."""
    import psycopg

    facts = {}
    for side, dbname in dbnames.items():
        with psycopg.connect(admin.with_dbname(dbname).url()) as conn:
            facts[side] = conn.execute(
                "select count(distinct period), count(*) from marts.fct_kpi_values_monthly"
            ).fetchone()
    return facts


def _result(timings, tasks, bootstrap, facts, written: int, load: list[float]) -> Result:
    first, last = min(timings["month 1"]), min(timings["month 36"])
    ratio = last / first
    best = {side: runs[timings[side].index(min(timings[side]))] for side, runs in tasks.items()}
    return Result(
        name="Month 36 vs month 1",
        candidate=f"DAG run for {LAST}, month 36 of a {written}-month history",
        baseline=f"DAG run for {FIRST}, month 1 (no month before it)",
        candidate_value=last,
        baseline_value=first,
        unit="s",
        ratio=ratio,
        target="≤ 1.2×",
        passed=ratio <= 1.2,
        notes=f"best of {ROUNDS} alternating rounds each (month 1: "
        + ", ".join(f"{t:.1f}s" for t in timings["month 1"])
        + "; month 36: "
        + ", ".join(f"{t:.1f}s" for t in timings["month 36"])
        + "). Each a fresh process, dag.test(), dry_run, timed from outside, on a warehouse"
        " bootstrapped by load_history up to and including its month, so seeds are current"
        " and every table exists on both sides (month 1's: "
        + _facts(facts["month 1"], bootstrap["month 1"])
        + "; month 36's: "
        + _facts(facts["month 36"], bootstrap["month 36"])
        + f"). History: the bundled 2019-01 .. {sample_data.LAST_MONTH} and 17 months"
        " generated after them by the demo's series (bench/bench_month36.py). 1-minute load"
        " average " + ", ".join(f"{x:.1f}" for x in load) + " (before, then after each run).",
        details=_breakdown(best),
    )


def _facts(months_rows: tuple[int, int], seconds: float) -> str:
    months, rows = months_rows
    return f"{months} month(s), {rows} mart rows, bootstrapped in {seconds:.0f}s"


def _breakdown(best: dict[str, dict[str, float]]) -> list[str]:
    """Each task of the best run of each side, and the stages they add up to."""
    lines = [
        "The best run of each side, task by task (Airflow's own durations; mapped loads summed):",
        "",
        "| task | month 1 | month 36 | ratio |",
        "|---|---|---|---|",
    ]
    one, thirty_six = best["month 1"], best["month 36"]
    stages: dict[str, list[float]] = {}
    for task_id in sorted(set(one) | set(thirty_six)):
        a, b = one.get(task_id, 0.0), thirty_six.get(task_id, 0.0)
        lines.append(f"| `{task_id}` | {a:.1f} s | {b:.1f} s | {_ratio(b, a)} |")
        totals = stages.setdefault(_stage(task_id), [0.0, 0.0])
        totals[0] += a
        totals[1] += b
    for stage, (a, b) in stages.items():
        lines.append(f"| **{stage}** | {a:.1f} s | {b:.1f} s | {_ratio(b, a)} |")
    return lines


def _ratio(candidate: float, baseline: float) -> str:
    return f"{candidate / baseline:.2f}" if baseline >= 0.05 else ""
