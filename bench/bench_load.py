"""Loading a 1,000,000-row submission against `psql \\copy` of the same rows.

Candidates, each in a fresh interpreter, so its peak memory (ru_maxrss) is the loader's own:
- `load_submission`: one line loaded on its own, validated and normalised while its rows
  are COPYed straight into raw.lob_figures, in one transaction (the rows written once);
- the month's way, `stage_submission` then `publish_month` of that one line: the rows
  COPYed into the staging area, then moved into raw.lob_figures by the publish's
  `insert ... select` (written twice, in two transactions), as a DAG run does.
Baseline: `psql \\copy` of exactly the rows the loader wrote (exported after its run) into
an identically shaped table (raw.lob_figures' columns, primary key, checks and foreign
key). Both load into an empty month of a scratch database created for this run and dropped
afterwards; runs alternate so machine noise hits all three. Ratio = loader throughput /
psql throughput (target >= 0.91 for `load_submission`, informational for the month's way)
and peak memory (target < 300 MB).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import PEAK_MB, ROOT, Result, scratch_databases, scratch_folder

ROWS = int(os.environ.get("BENCH_LOAD_ROWS", "1000000"))
REPEAT = 2
PERIOD = "2020-06"
LOB = "mobile_banking"

TARGET = 0.91
LOADER = (
    PEAK_MB
    + """
import json, sys, time
from pathlib import Path
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest import load_submission, publish_month, stage_submission
from strategy_briefs.warehouse import parse_url
params, path, period, lob, way = parse_url(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:]
catalogue = load_catalogue(PROJECT_ROOT / "dbt_project" / "seeds")
started = time.perf_counter()
if way == "line":
    rows = load_submission(params, path, period=period, lob_code=lob, catalogue=catalogue).row_count
else:
    stage_submission(params, path, period=period, lob_code=lob, catalogue=catalogue, run_key=way)
    (result,) = publish_month(params, period, [lob], run_key=way, catalogue=catalogue,
                              incoming_dir=path.parent.parent)
    rows = result.row_count
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rows": rows,
                  "max_rss_mb": peak_mb()}))
"""
)
WAYS = {"line": "load_submission", "month": "stage_submission + publish_month"}


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


def _export(params, exported: Path) -> None:
    from strategy_briefs import warehouse

    with warehouse.connect(params) as conn, exported.open("wb") as handle:
        with conn.cursor().copy("copy raw.lob_figures to stdout") as copy:
            for block in copy:
                handle.write(block)


def _psql_copy(psql: str, params, exported: Path) -> float:
    from strategy_briefs import warehouse

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
    return time.perf_counter() - started


def _result(way: str, loader: float, baseline: float, peak: float) -> Result:
    ratio = baseline / loader  # = loader throughput / psql throughput
    line = way == "line"
    return Result(
        name="Load 1M rows" if line else "Load 1M rows, the month's way",
        candidate=(
            f"load_submission of a {ROWS:,}-row CSV (validate + COPY into raw.lob_figures)"
            if line
            else "stage_submission + publish_month of the same CSV (COPY to staging, publish)"
        ),
        baseline="psql \\copy of the same rows into an identically shaped table",
        candidate_value=loader,
        baseline_value=baseline,
        unit="s",
        ratio=ratio,
        target=(
            f"≥ {TARGET}× psql throughput, peak memory < 300 MB"
            if line
            else "peak memory < 300 MB (ratio informational)"
        ),
        passed=(ratio >= TARGET or not line) and peak < 300,
        notes=(
            f"best of {REPEAT} each, alternating; {WAYS[way]} {ROWS / loader:,.0f} rows/s, "
            f"psql {ROWS / baseline:,.0f} rows/s; loader peak memory {peak:.0f} MB; "
            f"load average at the end {os.getloadavg()[0]:.1f}"
        ),
    )


def run() -> list[Result]:
    from strategy_briefs import warehouse
    from strategy_briefs_demo.sample_data import write_large_submission

    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("psql is not installed: apt-get install postgresql-client")
    with scratch_databases("load") as [params], scratch_folder("load") as work:
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
        runs: dict[str, list[float]] = {way: [] for way in WAYS}
        peaks = dict.fromkeys(WAYS, 0.0)
        psql_runs: list[float] = []
        env = {**os.environ, "PYTHONPATH": str(ROOT / "include")}
        for attempt in range(REPEAT):
            for way in WAYS:
                with warehouse.connect(params) as conn:
                    conn.execute("truncate raw.lob_figures")
                run_key = "line" if way == "line" else f"bench-{way}-{attempt}"
                out = subprocess.run(
                    [sys.executable, "-c", LOADER, params.url(), str(source), PERIOD, LOB, run_key],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    env=env,
                )
                measured = json.loads(out.stdout.strip().splitlines()[-1])
                assert measured["rows"] == ROWS
                runs[way].append(measured["seconds"])
                peaks[way] = max(peaks[way], measured["max_rss_mb"])
                if attempt == 0 and way == "line":  # the baseline copies the rows loaded
                    _export(params, exported)
            psql_runs.append(_psql_copy(psql, params, exported))
        baseline = min(psql_runs)
        return [_result(way, min(runs[way]), baseline, peaks[way]) for way in WAYS]


if __name__ == "__main__":
    result = run()
    print(result)
