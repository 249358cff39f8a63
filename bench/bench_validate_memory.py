"""Validation memory: a 2,000,000-row file of unique keys against a one-row file.

Candidate: `validate_file` of a generated 2,000,004-row mobile-banking CSV whose every
branch row names a branch of its own, each name as long as a key may be (50 characters):
the worst legal case for anything kept per key. A second candidate holds every key twice,
so a million duplicates are found (and capped at the problem limit).
Baseline: `validate_file` of the one-row-per-required-KPI file (4 rows plus one branch
row) in the same kind of fresh interpreter: the interpreter, the catalogue and the
validator's imports. Each runs in its own process, which prints its own peak memory
(ru_maxrss), so nothing else this bench run started is counted. Target: peak < 300 MB.
The files are generated in a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.harness import PEAK_MB, ROOT, Result, scratch_folder

ROWS = int(os.environ.get("BENCH_VALIDATE_ROWS", "2000000"))
PEAK_TARGET_MB = 300
PERIOD = "2020-06"
LOB = "mobile_banking"

VALIDATOR = (
    PEAK_MB
    + """
import json, sys, time
from pathlib import Path
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest.validation import validate_file
catalogue = load_catalogue(PROJECT_ROOT / "dbt_project" / "seeds")
started = time.perf_counter()
problems = validate_file(Path(sys.argv[1]), catalogue)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "problems": [str(p) for p in problems[:3]],
                  "problem_count": len(problems),
                  "max_rss_mb": peak_mb()}))
"""
)


def _branch(number: int) -> str:
    from strategy_briefs.ingest.validation import MAX_BRANCH_CHARS

    return f"branch:演示分行{number:07d}".ljust(len("branch:") + MAX_BRANCH_CHARS, "区")


def _rows(branch_rows: int, repeat: int) -> Iterator[tuple[str, ...]]:
    """The reporting bank's required KPIs, then `branch_rows` branch rows, each branch
    `repeat` times in a row (1: every key unique)."""
    from strategy_briefs_demo.sample_data import DEMO, PUBLISHED

    for kpi, value, unit in (
        ("mb_customers", "3.85", "亿户"),
        ("mb_monthly_active", "7726", "万户"),
        ("mb_txn_amount_ytd", "31.5", "万亿元"),
        ("mb_txn_count_ytd", "369.0", "亿笔"),
    ):
        yield (PERIOD, LOB, kpi, "icbc", value, unit, PUBLISHED)
    for row in range(branch_rows):
        entity = _branch(row // repeat)
        yield (PERIOD, LOB, "mb_customers", entity, str(1000 + row % 5000), "户", DEMO)


def _validate(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", VALIDATOR, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "include")},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _result(name: str, candidate: str, measured: dict, baseline: dict, note: str) -> Result:
    peak, base = measured["max_rss_mb"], baseline["max_rss_mb"]
    per_row = (peak - base) * 1024 * 1024 / ROWS
    return Result(
        name=name,
        candidate=candidate,
        baseline="`validate_file` of a 5-row file (fresh interpreter)",
        candidate_value=peak,
        baseline_value=base,
        unit="MB",
        ratio=peak / base,
        target=f"peak memory < {PEAK_TARGET_MB} MB",
        passed=peak < PEAK_TARGET_MB,
        notes=(
            f"peak memory (max RSS) {peak:.0f} MB, {per_row:.0f} bytes a row above the "
            f"baseline's {base:.0f} MB; {measured['seconds']:.1f} s, "
            f"{ROWS / measured['seconds']:,.0f} rows/s; {note}"
        ),
    )


def run() -> list[Result]:
    from strategy_briefs_demo.sample_data import write_csv

    with scratch_folder("validate") as work:
        small = write_csv(work / "small" / PERIOD / f"{LOB}.csv", _rows(1, 1))
        unique = write_csv(work / "unique" / PERIOD / f"{LOB}.csv", _rows(ROWS, 1))
        baseline = _validate(small)
        assert baseline["problem_count"] == 0, baseline["problems"]
        measured = _validate(unique)
        assert measured["problem_count"] == 0, measured["problems"]
        unique.unlink()
        twice = write_csv(work / "twice" / PERIOD / f"{LOB}.csv", _rows(ROWS, 2))
        repeated = _validate(twice)
        assert "duplicate row" in repeated["problems"][0], repeated["problems"]
    return [
        _result(
            "Validate 2M unique keys",
            f"`validate_file` of a {ROWS + 4:,}-row CSV, every branch its own 50-character name",
            measured,
            baseline,
            "no problems",
        ),
        _result(
            "Validate 2M repeated keys",
            f"`validate_file` of a {ROWS + 4:,}-row CSV, every key twice",
            repeated,
            baseline,
            f"{ROWS // 2:,} duplicates found, {repeated['problem_count']:,} problem lines (capped)",
        ),
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
