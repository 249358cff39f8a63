"""Month 36 of a 36-month history against month 1, both through the real DAG.

The marts are incremental by month and the judgements read back at most
`judgement_history_months`, so a month must cost what month 1 did however long the
history grows. The bundled sample is 19 months (2019-01 .. 2020-07); this benchmark
extends it to 36 (2019-01 .. 2021-12) with the demo's own generator, outside the product:
the bundled months are copied as they are, and the 17 months after them come from the
same series carried forward (`write_history`).

Like with like. A month's run on a warehouse where the seeds were never built and no mart
exists yet (a deployment's very first month) builds the seeds and creates every table;
month 36 does neither. So every side is a warehouse bootstrapped the way the history is
(`load_history`: the loader, then one full `dbt build`, no DAG) up to and including the
month timed: month 1's holds 2019-01 only, month 36's all 36 months. Each side's month is
then run through the DAG (`dag.test()`, dry_run) in a fresh process, timed from outside,
as `strategy-briefs run --period` and bench_backfill run a month: it validates, stages and
publishes its files again (the publish replaces the month whole), rebuilds its month in
every mart and renders its five PDFs. All three months come from the demo's generator
(2019-01 is a bundled month, which it wrote too), without highlights, 62-64 figures each.

Month 1 has nothing to compare with, so its briefs say less (no 同比, 环比, streaks or
records: measured 7 pages and 5,031 characters against month 36's 9 and 9,048) and
render faster for that reason alone. A third side, month 24 (2020-12, month
36's calendar month a year earlier, with 23 months before it), has the same comparisons
as month 36: month 36 / month 24 is the history's length alone. Rounds alternate, the
second in the reverse order (1, 24, 36, then 36, 24, 1) so a load that rises or falls
through the run favours no side; the best of each side counts. Each run gets its own copy of a
freshly migrated Airflow metadata database, so each task's duration is that run's alone.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from pathlib import Path

from bench.bench_backfill import MONTH
from bench.bench_month_stages import _stage, _task_durations
from bench.harness import (
    LOAD_HISTORY,
    ROOT,
    Result,
    airflow_env,
    migrate_airflow_home,
    scratch_databases,
    scratch_folder,
    step,
)
from strategy_briefs.periods import Period, months_between

# The demo's generator (the demo package, outside the product).
from strategy_briefs_demo import sample_data

FIRST, LAST = Period(2019, 1), Period(2021, 12)
# The months timed: month 24 is month 36's calendar month a year earlier.
SIDES = {"month 1": FIRST, "month 24": FIRST.shift(23), "month 36": LAST}
ROUNDS = 2
# A generated month's series grows at most this much a year: the sample's few young
# series (a card launched in 2020 at 6000 % a year) would otherwise reach absurd sizes.
MAX_EXTENDED_GROWTH = 0.5


def run() -> list[Result]:
    sides: dict[str, Side] = {}
    load = [os.getloadavg()[0]]
    with (
        scratch_databases("month36", count=len(SIDES)) as databases,
        scratch_folder("month36") as scratch,
    ):
        write_history(scratch / "incoming")
        migrated = scratch / "airflow" / "migrated.db"  # each timed run gets a copy of it
        migrate_airflow_home({**os.environ, **airflow_env(scratch, migrated)})
        for (name, month), params in zip(SIDES.items(), databases, strict=True):
            sides[name] = _bootstrapped(name, month, params, scratch)
        for round_no in range(ROUNDS):
            for side in list(sides.values())[:: -1 if round_no % 2 else 1]:
                _timed_run(side, migrated, scratch / "airflow" / f"{side.slug}-{round_no}.db")
                load.append(os.getloadavg()[0])
    return _results(sides, load)


@dataclasses.dataclass
class Side:
    """One warehouse and the month timed on it."""

    name: str
    month: Period
    env: dict[str, str]
    bootstrap_seconds: float
    months_held: int = 0
    mart_rows: int = 0
    pages: int = 0
    characters: int = 0  # of the five PDFs' text (pdftotext)
    seconds: list[float] = dataclasses.field(default_factory=list)
    tasks: list[dict[str, float]] = dataclasses.field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.name.replace(" ", "")

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def best_tasks(self) -> dict[str, float]:
        return self.tasks[self.seconds.index(self.best)]


def _bootstrapped(name: str, month: Period, params, scratch: Path) -> Side:
    """A warehouse loaded by `load_history` up to and including `month`, untimed by the ratio."""
    import psycopg

    env = _side_env(params.url(), scratch, name)
    started = time.perf_counter()
    step("month36", LOAD_HISTORY, str(month.shift(1)), env=env)
    side = Side(name, month, env, time.perf_counter() - started)
    with psycopg.connect(params.url()) as conn:
        side.months_held, side.mart_rows = conn.execute(
            "select count(distinct period), count(*) from marts.fct_kpi_values_monthly"
        ).fetchone()
    return side


def _timed_run(side: Side, migrated: Path, airflow_db: Path) -> None:
    """The month through the DAG in a fresh process, on its own copy of the Airflow metadata."""
    shutil.copyfile(migrated, airflow_db)
    env = {**side.env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_db}"}
    started = time.perf_counter()
    step("month36", MONTH, str(side.month), env=env)
    side.seconds.append(time.perf_counter() - started)
    side.tasks.append(_task_durations(airflow_db))
    if not side.pages:
        side.pages, side.characters = _briefs_size(
            Path(env["STRATEGY_BRIEFS_OUTPUT"]) / str(side.month)
        )


def _briefs_size(folder: Path) -> tuple[int, int]:
    """Pages and characters of text of the PDFs in `folder` (poppler's pdfinfo, pdftotext)."""
    pages = characters = 0
    for pdf in sorted(folder.glob("*.pdf")):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
        pages += int(next(f for f in info.stdout.splitlines() if f.startswith("Pages:")).split()[1])
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        )
        characters += len("".join(text.stdout.split()))
    return pages, characters


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
        sample_data.write_csv(incoming / month / f"{lob}.csv", month_rows)
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


def _side_env(url: str, scratch: Path, side: str) -> dict[str, str]:
    return {
        **os.environ,
        "WAREHOUSE_URL": url,
        "STRATEGY_BRIEFS_INCOMING": str(scratch / "incoming"),
        "STRATEGY_BRIEFS_OUTPUT": str(scratch / "output" / side.replace(" ", "")),
        "STRATEGY_BRIEFS_FIRST_MONTH": str(FIRST),
        "AIRFLOW_HOME": str(scratch / "airflow"),
    }


def _results(sides: dict[str, Side], load: list[float]) -> list[Result]:
    one, twenty_four, thirty_six = sides["month 1"], sides["month 24"], sides["month 36"]
    common = (
        f"Best of {ROUNDS} alternating rounds; every run: "
        + "; ".join(_side_note(side) for side in sides.values())
        + ". Each run a fresh process, dag.test(), dry_run, timed from outside, on a warehouse"
        " bootstrapped by load_history up to and including its month (seeds current, every"
        f" table there). History: the bundled 2019-01 .. {sample_data.LAST_MONTH} and 17"
        " months generated after them by the demo's series (bench/bench_month36.py). 1-minute"
        " load average " + ", ".join(f"{x:.1f}" for x in load) + " (before, then after each run)."
    )
    versus_one = _row(
        "Month 36 vs month 1",
        thirty_six,
        one,
        f"DAG run for {one.month}, month 1 (no month before it)",
        "≤ 1.2×",
        common,
    )
    versus_one = dataclasses.replace(versus_one, details=_breakdown(sides))
    versus_twenty_four = _row(
        "Month 36 vs month 24",
        thirty_six,
        twenty_four,
        f"DAG run for {twenty_four.month}, month 24 (the same calendar month, a year and more"
        " before it: the same comparisons in the briefs)",
        "≤ 1.2× (informational: the history's length alone)",
        "measured in the same run as month 36 vs month 1 (its notes and breakdown).",
    )
    return [versus_one, versus_twenty_four]


def _row(name: str, candidate: Side, baseline: Side, baseline_text: str, target: str, notes: str):
    ratio = candidate.best / baseline.best
    return Result(
        name=name,
        candidate=f"DAG run for {candidate.month}, month 36 of a 36-month history",
        baseline=baseline_text,
        candidate_value=candidate.best,
        baseline_value=baseline.best,
        unit="s",
        ratio=ratio,
        target=target,
        passed=ratio <= 1.2,
        notes=notes,
    )


def _side_note(side: Side) -> str:
    return (
        f"{side.name} ({side.month}) "
        + ", ".join(f"{t:.1f}s" for t in side.seconds)
        + f", warehouse of {side.months_held} month(s) and {side.mart_rows} mart rows"
        f" bootstrapped in {side.bootstrap_seconds:.0f}s, its five PDFs {side.pages} pages and"
        f" {side.characters:,} characters"
    )


def _breakdown(sides: dict[str, Side]) -> list[str]:
    """Each task of each side's best run, then the stages they add up to."""
    names = list(sides)
    lines = [
        "Each side's best run, task by task (Airflow's own durations; mapped loads summed):",
        "",
        "| task | " + " | ".join(names) + " | 36 / 1 | 36 / 24 |",
        "|---|" + "---|" * (len(names) + 2),
    ]
    rows: dict[str, list[float]] = {}
    stages: dict[str, list[float]] = {}
    for name in names:
        for task_id, seconds in sides[name].best_tasks.items():
            rows.setdefault(task_id, [0.0] * len(names))[names.index(name)] += seconds
            stages.setdefault(_stage(task_id), [0.0] * len(names))[names.index(name)] += seconds
    for label, values in [*((f"`{t}`", v) for t, v in sorted(rows.items()))] + [
        (f"**{stage}**", v) for stage, v in stages.items()
    ]:
        one, twenty_four, thirty_six = values
        cells = " | ".join(f"{v:.1f} s" for v in values)
        ratios = f"{_ratio(thirty_six, one)} | {_ratio(thirty_six, twenty_four)}"
        lines.append(f"| {label} | {cells} | {ratios} |")
    return lines


def _ratio(candidate: float, baseline: float) -> str:
    return f"{candidate / baseline:.2f}" if baseline >= 0.05 else ""
