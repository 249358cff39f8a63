"""A 12-month backfill through the real DAG: the 12th month's run against the 1st's.

The marts are incremental by month, so month N must cost what month 1 did however long
the history is. Both runs happen in this benchmark, in one process, on a scratch
database created for it and dropped afterwards (`dry_run`: no mail).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from bench.harness import ROOT, Result

DRIVER = r"""
import json, os, sys, time
from strategy_briefs.cli import run_month
from strategy_briefs.config import Settings
from strategy_briefs.orchestration.history import load_history
from strategy_briefs.periods import Period, months_between
settings = Settings.from_env()
first, last = Period(2019, 7), Period(2020, 6)
load_history(settings, before=first)
timings = {}
for month in months_between(first, last):
    started = time.perf_counter()
    run_month(settings, month, conf={"dry_run": True})
    timings[str(month)] = time.perf_counter() - started
print("TIMINGS " + json.dumps(timings))
"""


def run() -> Result:
    import psycopg
    from psycopg import sql

    server = os.environ.get("WAREHOUSE_URL")
    from strategy_briefs import warehouse

    admin = warehouse.parse_url(server) if server else warehouse.resolve()
    dbname = f"sb_bench_backfill_{uuid.uuid4().hex[:8]}"
    warehouse.create_database_if_missing(admin, dbname)
    scratch = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    shutil.copytree(ROOT / "data" / "incoming", scratch / "incoming")
    env = {
        **os.environ,
        "WAREHOUSE_URL": admin.with_dbname(dbname).url(),
        "STRATEGY_BRIEFS_INCOMING": str(scratch / "incoming"),
        "STRATEGY_BRIEFS_OUTPUT": str(scratch / "output"),
        "STRATEGY_BRIEFS_FIRST_MONTH": "2019-07",
        "AIRFLOW_HOME": str(scratch / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{scratch / 'airflow' / 'airflow.db'}",
    }
    try:
        (scratch / "airflow").mkdir()
        airflow = Path(sys.executable).with_name("airflow")
        subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
        out = subprocess.run(
            [sys.executable, "-c", DRIVER], env=env, check=True, capture_output=True, text=True
        ).stdout
        import json

        line = next(li for li in out.splitlines() if li.startswith("TIMINGS "))
        timings = json.loads(line.removeprefix("TIMINGS "))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with psycopg.connect(admin.with_dbname("postgres").url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )
    months = list(timings)
    first, last = timings[months[0]], timings[months[-1]]
    ratio = last / first
    return Result(
        name="12-month backfill",
        candidate=f"DAG run for {months[-1]} (12th month)",
        baseline=f"DAG run for {months[0]} (1st month)",
        candidate_value=last,
        baseline_value=first,
        unit="s",
        ratio=ratio,
        target="≤ 1.2×",
        passed=ratio <= 1.2,
        notes="every month: "
        + ", ".join(f"{m} {t:.0f}s" for m, t in timings.items())
        + ". dag.test() per month in one process, dry_run.",
    )
