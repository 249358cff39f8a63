"""One month through `strategy-briefs run`, stage by stage, beside the bare parts.

A scratch database gets the bundled history before the month (untimed); then the month
runs in a fresh process: the `strategy-briefs run --period <month> --dry-run` command, timed
from outside. Each task's own duration comes from the Airflow metadata of that run
(a scratch SQLite database). In the same benchmark run, on the same data, the bare
equivalents are timed:

- ingest: `psql \\copy` of the month's files into a table of the same columns;
- warehouse: one `dbt build` of the month's models and tests, seeds excluded, as a
  subprocess (start-up and parse included, as every dbt invocation pays them);
- render: `render_month` called directly in this process;
- freshness: the freshness check's own query, once (`orchestration.freshness`: every
  source's newest load under the dbt manifest's rules, in one statement).

Gate and send (dry_run) have no bare equivalent: they are listed with their durations.
Two ratios come out: the month end to end over the sum of the bare parts, and the
warehouse stage through Airflow and Cosmos over the bare `dbt build`.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from bench.harness import (
    LOAD_HISTORY,
    ROOT,
    Result,
    command,
    migrate_airflow_home,
    month_run_env,
    scratch_databases,
    scratch_folder,
    step,
)
from strategy_briefs.config import venv_executable

MONTH = "2020-06"


def run() -> list[Result]:
    with scratch_databases("stages") as [params], scratch_folder("stages") as scratch:
        env = month_run_env(params, scratch, first_month=MONTH)
        migrate_airflow_home(env)
        step("stage", LOAD_HISTORY, MONTH, env=env)
        started = time.perf_counter()
        run = [venv_executable("strategy-briefs"), "run", "--period", MONTH, "--dry-run"]
        command("stage", run, env=env)
        end_to_end = time.perf_counter() - started
        tasks = _task_durations(scratch / "airflow" / "airflow.db")
        bare = {
            "ingest": _bare_copy(params, scratch / "incoming" / MONTH),
            "warehouse": _bare_dbt_build(params),
            "render": _bare_render(params, scratch / "bare-render"),
            "freshness": _bare_freshness(params),
        }
    return _results(end_to_end, tasks, bare)


def _stage(task_id: str) -> str:
    if task_id.startswith("ingest."):
        return "ingest"
    if task_id.startswith("warehouse."):
        return "warehouse"
    return {
        "briefs.render_briefs": "render",
        "delivery.check_source_freshness": "freshness",
        "delivery.quality_gate": "gate",
        "delivery.deliver_briefs": "send",
    }.get(task_id, "other")


def _task_durations(airflow_db: Path) -> dict[str, float]:
    """Each task's duration in the run (mapped loads summed), from Airflow's own record."""
    durations: dict[str, float] = defaultdict(float)
    with sqlite3.connect(airflow_db) as conn:
        for task_id, duration in conn.execute(
            "select task_id, duration from task_instance where duration is not null"
        ):
            durations[task_id] += float(duration)
    return dict(durations)


def _bare_copy(params, month_dir: Path) -> float:
    files = sorted(month_dir.glob("*.csv"))
    with files[0].open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    script = [f"create temp table bare_copy ({', '.join(f'{c} text' for c in header)});"]
    script += [f"\\copy bare_copy from '{path}' with (format csv, header true)" for path in files]
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    started = time.perf_counter()
    subprocess.run(
        [psql, params.url(), "-v", "ON_ERROR_STOP=1", "-q"],
        input="\n".join(script),
        text=True,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _bare_dbt_build(params) -> float:
    from strategy_briefs.dbt_command import run_dbt

    started = time.perf_counter()
    run_dbt(
        ROOT / "dbt_project",
        "build",
        "--exclude",
        "resource_type:seed",
        "--vars",
        json.dumps({"period": MONTH, "airflow_run_id": "bench-bare"}),
        env=params.dbt_env(),
    )
    return time.perf_counter() - started


def _bare_render(params, out_dir: Path) -> float:
    from strategy_briefs.briefs.render import render_month
    from strategy_briefs.periods import Period

    started = time.perf_counter()
    render_month(params, Period.parse(MONTH), out_dir)
    return time.perf_counter() - started


def _bare_freshness(params) -> float:
    """The query `delivery.check_source_freshness` runs, on a connection of its own."""
    from strategy_briefs import warehouse
    from strategy_briefs.orchestration import cosmos_config, freshness

    query = freshness.freshness_query(freshness.freshness_rules(cosmos_config.manifest_sources()))
    started = time.perf_counter()
    with warehouse.connect(params) as conn:
        conn.execute(query).fetchall()
    return time.perf_counter() - started


def _results(end_to_end: float, tasks: dict[str, float], bare: dict[str, float]) -> list[Result]:
    stages: dict[str, float] = defaultdict(float)
    for task_id, seconds in tasks.items():
        stages[_stage(task_id)] += seconds
    bare_sum = sum(bare.values())
    lines = [
        "| stage | through `strategy-briefs run` | bare equivalent | bare | ratio |",
        "|---|---|---|---|---|",
    ]
    bare_names = {
        "ingest": "psql \\copy of the month's files",
        "warehouse": "one `dbt build` of the month's models and tests (no seeds)",
        "render": "`render_month` called directly",
        "freshness": "the check's one SQL query",
    }
    for stage in ["ingest", "warehouse", "freshness", "render", "gate", "send", "other"]:
        if stage in bare:
            ratio = f"{stages[stage] / bare[stage]:.1f}"
            lines.append(
                f"| {stage} | {stages[stage]:.2f} s | {bare_names[stage]} | {bare[stage]:.2f} s"
                f" | {ratio} |"
            )
        else:
            lines.append(f"| {stage} | {stages[stage]:.2f} s | none | | |")
    lines.append(
        f"| **month** | {end_to_end:.1f} s (process, timed from outside) | sum of bare parts"
        f" | {bare_sum:.1f} s | {end_to_end / bare_sum:.1f} |"
    )
    lines += ["", "Each dbt task of the warehouse stage:", "", "| task | seconds |", "|---|---|"]
    for task_id, seconds in sorted(tasks.items()):
        if task_id.startswith("warehouse."):
            lines.append(f"| `{task_id}` | {seconds:.1f} |")
    month = Result(
        name="Month end to end",
        candidate=f"`strategy-briefs run --period {MONTH} --dry-run` (fresh process)",
        baseline="sum of the bare parts (psql copy, dbt build, render, freshness query)",
        candidate_value=end_to_end,
        baseline_value=bare_sum,
        unit="s",
        ratio=end_to_end / bare_sum,
        target="≤ 1.5×",
        passed=end_to_end / bare_sum <= 1.5,
        notes="stages in the table below ('other': resolve_period and Airflow's own work"
        " between tasks is in the end-to-end figure only).",
        details=lines,
    )
    warehouse_ratio = stages["warehouse"] / bare["warehouse"]
    warehouse_row = Result(
        name="Warehouse stage",
        candidate="the warehouse task group through Airflow and Cosmos (sum of its tasks)",
        baseline="one bare `dbt build` of the same selection (seeds excluded)",
        candidate_value=stages["warehouse"],
        baseline_value=bare["warehouse"],
        unit="s",
        ratio=warehouse_ratio,
        target="≤ 1.3×",
        passed=warehouse_ratio <= 1.3,
        notes="measured in the same run as the month end to end.",
    )
    return [month, warehouse_row]
