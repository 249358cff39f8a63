"""Loading a 1,000,000-row submission against `psql \\copy` of the same rows.

Candidate: `load_submission` (validate + normalise + COPY into the staging area, then the
publish's insert into raw.lob_figures: the rows are written twice, in two transactions) in a
fresh interpreter, so its peak memory (ru_maxrss) is the loader's own.
Baseline: `psql \\copy` of exactly the rows the loader wrote (exported after its run) into
an identically shaped table (raw.lob_figures' columns, primary key, checks and foreign
key). Both load into an empty month of a scratch database created for this run and dropped
afterwards; runs alternate so machine noise hits both. Ratio = loader throughput / psql
throughput (target >= 0.7) and peak memory (target < 300 MB).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import ROOT, Result

ROWS = int(os.environ.get("BENCH_LOAD_ROWS", "1000000"))
REPEAT = 2
PERIOD = "2020-06"
LOB = "mobile_banking"

LOADER = """
import json, resource, sys, time
from pathlib import Path
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest import load_submission
from strategy_briefs.warehouse import parse_url
params = parse_url(sys.argv[1])
catalogue = load_catalogue(PROJECT_ROOT / "dbt_project" / "seeds")
started = time.perf_counter()
result = load_submission(params, Path(sys.argv[2]), period=sys.argv[3], lob_code=sys.argv[4],
                         catalogue=catalogue)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rows": result.row_count,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _conninfo(params) -> str:
    parts = {
        "host": params.host,
        "port": params.port,
        "user": params.user,
        "dbname": params.dbname,
    }
    if params.password:
        parts["password"] = params.password
    return " ".join(f"{k}='{v}'" for k, v in parts.items())


def run() -> Result:
    from strategy_briefs import warehouse
    from strategy_briefs_demo.sample_data import write_large_submission

    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("psql is not installed: apt-get install postgresql-client")
    server = warehouse.resolve()
    dbname = f"sb_bench_{uuid.uuid4().hex[:8]}"
    warehouse.create_database_if_missing(server, dbname)
    params = server.with_dbname(dbname)
    work = Path(tempfile.mkdtemp(prefix="sb_bench_load_"))
    try:
        warehouse.migrate(params)
        source = write_large_submission(work / PERIOD / f"{LOB}.csv", ROWS, period=PERIOD)
        exported = work / "rows.copy"
        with warehouse.connect(params) as conn:
            conn.execute("create schema if not exists bench")
            conn.execute("create table bench.lob_figures (like raw.lob_figures including all)")
            conn.execute(
                "alter table bench.lob_figures add foreign key (load_id)"
                " references raw.load_audit (load_id)"
            )
        loader_runs, psql_runs, peak = [], [], 0.0
        env = {**os.environ, "PYTHONPATH": str(ROOT / "include")}
        for attempt in range(REPEAT):
            with warehouse.connect(params) as conn:
                conn.execute("truncate raw.lob_figures")
            out = subprocess.run(
                [sys.executable, "-c", LOADER, params.url(), str(source), PERIOD, LOB],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
            )
            measured = json.loads(out.stdout.strip().splitlines()[-1])
            assert measured["rows"] == ROWS
            loader_runs.append(measured["seconds"])
            peak = max(peak, measured["max_rss_mb"])
            if attempt == 0:  # the baseline copies exactly the rows the loader wrote
                with warehouse.connect(params) as conn, exported.open("wb") as handle:
                    with conn.cursor().copy("copy raw.lob_figures to stdout") as copy:
                        for block in copy:
                            handle.write(block)
            with warehouse.connect(params) as conn:
                conn.execute("truncate bench.lob_figures")
            started = time.perf_counter()
            subprocess.run(
                [
                    psql,
                    _conninfo(params),
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    f"\\copy bench.lob_figures from '{exported}'",
                ],
                check=True,
                capture_output=True,
            )
            psql_runs.append(time.perf_counter() - started)
        loader, baseline = min(loader_runs), min(psql_runs)
        ratio = baseline / loader  # = loader throughput / psql throughput
        return Result(
            name="Load 1M rows",
            candidate=f"load_submission of a {ROWS:,}-row CSV (validate + COPY to staging, publish)",
            baseline="psql \\copy of the same rows into an identically shaped table",
            candidate_value=loader,
            baseline_value=baseline,
            unit="s",
            ratio=ratio,
            target="≥ 0.7× psql throughput, peak memory < 300 MB",
            passed=ratio >= 0.7 and peak < 300,
            notes=(
                f"best of {REPEAT} each; loader {ROWS / loader:,.0f} rows/s, psql "
                f"{ROWS / baseline:,.0f} rows/s; loader peak memory {peak:.0f} MB"
            ),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        import psycopg
        from psycopg import sql

        with psycopg.connect(server.with_dbname("postgres").url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


if __name__ == "__main__":
    result = run()
    print(result)
