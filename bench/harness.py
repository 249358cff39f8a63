"""The benchmark harness: run each benchmark, print ratios, write docs/benchmarks.md.

A benchmark measures a candidate and a baseline in the same run, on the same machine, so
the ratio means something on a shared, noisy machine where absolute seconds do not.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
    )


# The bundled history of the months before argv[1], loaded and built: a benchmark's
# untimed set-up (`step(LOAD_HISTORY, month, ...)`).
LOAD_HISTORY = r"""
import sys
from strategy_briefs.config import Settings
from strategy_briefs.orchestration.history import load_history
from strategy_briefs.periods import Period
load_history(Settings.from_env(), before=Period.parse(sys.argv[1]))
"""


def step(
    what: str, code: str, *args: str, env: dict[str, str], timeout: float | None = None
) -> str:
    """Run `code` with `args` in a fresh interpreter; see `command`."""
    return command(what, [sys.executable, "-c", code, *args], env=env, timeout=timeout)


def command(
    what: str, argv: Sequence[object], *, env: dict[str, str], timeout: float | None = None
) -> str:
    """Run `argv` (a step of the benchmark `what`) from the project root; returns its last
    line of output. A failure raises with the step's arguments and the tail of its output."""
    argv = [str(arg) for arg in argv]
    named = " ".join(arg for arg in argv[1:] if "\n" not in arg and arg != "-c")
    try:
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, cwd=ROOT, timeout=timeout
        )
    except subprocess.TimeoutExpired as expired:
        raise RuntimeError(f"{what} benchmark step {named} ran out of time") from expired
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"{what} benchmark step {named} failed:\n{tail}")
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@contextmanager
def scratch_databases(name: str, count: int = 1) -> Iterator[list]:
    """`count` new warehouse databases `sb_bench_<name>_<random>` on the server of
    WAREHOUSE_URL (else the embedded one), as `WarehouseParams`; dropped afterwards."""
    import psycopg
    from psycopg import sql

    from strategy_briefs import warehouse

    admin = warehouse.resolve()
    dbnames = [f"sb_bench_{name}_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    try:
        for dbname in dbnames:
            warehouse.create_database_if_missing(admin, dbname)
        yield [admin.with_dbname(dbname) for dbname in dbnames]
    finally:
        with psycopg.connect(admin.with_dbname("postgres").url(), autocommit=True) as conn:
            for dbname in dbnames:
                drop = sql.SQL("drop database if exists {} with (force)")
                conn.execute(drop.format(sql.Identifier(dbname)))


@contextmanager
def scratch_folder(name: str) -> Iterator[Path]:
    """A temporary folder `bench-<name>-*`, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def airflow_env(folder: Path, airflow_db: Path | None = None) -> dict[str, str]:
    """The variables that give a run its own Airflow home under `folder` and its own SQLite
    metadata database (`airflow_db`, by default `folder/airflow/airflow.db`); then
    `migrate_airflow_home`."""
    airflow_db = airflow_db or folder / "airflow" / "airflow.db"
    return {
        "AIRFLOW_HOME": str(folder / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_db}",
    }


def month_run_env(params, folder: Path, first_month: str) -> dict[str, str]:
    """The environment of a month's runs on the warehouse `params`: the bundled
    submissions copied under `folder/incoming`, the briefs to `folder/output`, the
    history from `first_month`, Airflow's metadata under `folder/airflow`, and a var
    folder of its own: its chart cache starts empty, as it does for every new month (the
    charts' inputs are the month's figures), so a run draws its charts; the project's var/
    held the last bench run's charts of the same months."""
    shutil.copytree(ROOT / "data" / "incoming", folder / "incoming")
    return {
        **os.environ,
        "WAREHOUSE_URL": params.url(),
        "STRATEGY_BRIEFS_INCOMING": str(folder / "incoming"),
        "STRATEGY_BRIEFS_OUTPUT": str(folder / "output"),
        "STRATEGY_BRIEFS_FIRST_MONTH": first_month,
        "STRATEGY_BRIEFS_VAR": str(folder / "var"),
        **airflow_env(folder),
    }


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
    step("airflow home", MIGRATE_AIRFLOW_HOME, env=env)


# A child's peak memory, for the scripts the benches run in fresh interpreters. Not
# ru_maxrss: Linux carries the parent's high-water mark into a child through fork and exec
# (a child of a 400 MB process read 413 MB there and 13 MB here), and the bench process
# has rendered and loaded by then. VmHWM is the peak of the process's own memory.
PEAK_MB = """
def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 1024
"""
