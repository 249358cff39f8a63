"""The benchmark harness: run each benchmark, print ratios, write docs/benchmarks.md.

A benchmark measures a candidate and a baseline in the same run, on the same machine, so
the ratio means something on a shared, noisy machine where absolute seconds do not.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Result:
    name: str
    candidate: str
    baseline: str
    candidate_value: float
    baseline_value: float
    unit: str
    ratio: float
    target: str
    passed: bool
    notes: str = ""
    # markdown lines printed under the table (e.g. a per-stage breakdown)
    details: tuple[str, ...] | list[str] = ()
    # when the row was measured ('YYYY-MM-DD HH:MM UTC'); set by `record`
    measured_at: str = ""


# Every row's last measurement, so `python -m bench NAME` re-runs one benchmark and keeps
# the others' rows (each with the date it was measured) in docs/benchmarks.md.
RESULTS_FILE = ROOT / "docs" / "benchmarks.json"
# docs/benchmarks.md below this line is written by hand and kept by `make bench`.
READING_MARKER = "<!-- written by hand below; make bench keeps it -->"


def record(results: Sequence[Result], path: Path = RESULTS_FILE) -> list[Result]:
    """Store `results` (stamped now) over the earlier rows of the same names; return all rows."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    rows = {row["name"]: Result(**row) for row in stored}
    for result in results:
        rows[result.name] = replace(result, measured_at=stamp, details=list(result.details))
    path.write_text(
        json.dumps([asdict(r) for r in rows.values()], ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    return list(rows.values())


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run_python(code: str, *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    import os
    import sys

    subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
    )


def write_table(results: Sequence[Result], path: Path) -> None:
    reading = _hand_written_part(path)
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench [name ...]` re-runs some and keeps the other"
        " rows). Each row is a ratio against a baseline measured in the same run on the same"
        " machine; absolute times are shown for context only. The machine is a 2-core one"
        " shared with other engineers' builds and tests: absolute seconds are noisy, the"
        " same-run ratios much less so.",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}.",
        "",
        "| benchmark | candidate | baseline | candidate | baseline | ratio | target | met"
        " | measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.candidate} | {r.baseline} | {r.candidate_value:.3g} {r.unit}"
            f" | {r.baseline_value:.3g} {r.unit} | {r.ratio:.2f} | {r.target}"
            f" | {'yes' if r.passed else 'NO'} | {r.measured_at} |"
        )
    notes = [f"- **{r.name}**: {r.notes}" for r in results if r.notes]
    if notes:
        lines += ["", "Notes:", "", *notes]
    for r in results:
        if r.details:
            lines += ["", f"## {r.name}: breakdown", "", *r.details]
    lines += ["", READING_MARKER, *reading]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _hand_written_part(path: Path) -> list[str]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    if READING_MARKER not in text:
        return []
    return text.split(READING_MARKER, 1)[1].strip("\n").splitlines()


MIGRATE_AIRFLOW_HOME = (
    "import os, pathlib; from strategy_briefs.cli import migrate_airflow_db; "
    "migrate_airflow_db(pathlib.Path(os.environ['AIRFLOW_HOME']))"
)


def migrate_airflow_home(env: dict[str, str]) -> None:
    """A scratch AIRFLOW_HOME's metadata database migrated as a run's own set-up migrates it
    (`cli.migrate_airflow_db`, which records the Airflow that migrated it beside the
    database). A plain `airflow db migrate` recorded nothing, so the first timed run of
    each benchmark migrated it again: 2.3 s inside the candidate that no month pays."""
    import sys

    subprocess.run([sys.executable, "-c", MIGRATE_AIRFLOW_HOME], env=env, check=True)
