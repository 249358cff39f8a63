"""The warehouse stage two ways through Airflow, beside one bare `dbt build` (issue 14).

A scratch database gets the bundled history up to and including the month (untimed), so
every run below rebuilds the same month from the same figures. Then, in the same benchmark
run, alternating, best of `ROUNDS`:

- **layers**: the product's warehouse stage (`cosmos_config.warehouse_stage`: a task per
  seed, skipped when its CSV is current, and one `dbt build` per layer);
- **watcher**: Cosmos' `ExecutionMode.WATCHER` over the same selection (seeds excluded):
  one producer `dbt build`, a sensor per model and per model's tests;
- **bare**: one `dbt build` of the month's models and tests, seeds excluded, as a
  subprocess (start-up and parse included, as every dbt invocation pays them).

Each Airflow variant is a small DAG (a fixed `resolve_period`, then the stage) run with
`dag.test()` in a fresh process, as `strategy-briefs run` runs the month. Its figure is the
stage's span in Airflow's own record, from the first warehouse task's start to the last
one's end (the sum of the task durations beside it). Watcher sensors cannot defer under
`dag.test()` (the trigger would run inline and wait for a producer that cannot start), so
they reschedule every second instead.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime
from pathlib import Path

from bench.bench_month_stages import MONTH, _bare_dbt_build
from bench.harness import (
    LOAD_HISTORY,
    Result,
    airflow_env,
    migrate_airflow_home,
    scratch_databases,
    scratch_folder,
    step,
)
from strategy_briefs.periods import Period

ROUNDS = 2
TIMEOUT = 600  # a bound on one variant's run (a watcher that never ends), not a measurement

DAG_FILE = """
import pendulum
from airflow.sdk import dag, task
from strategy_briefs.orchestration import cosmos_config, tasks

DBT_ARGS = {
    **cosmos_config.operator_args,
    "vars": {"period": "{{ ti.xcom_pull(task_ids='resolve_period') }}",
             "airflow_run_id": "{{ run_id }}"},
    "env": tasks.DBT_ENV_TEMPLATE,
}


@dag(dag_id="bench_warehouse_layers", schedule=None, start_date=pendulum.datetime(2020, 1, 1))
def layers():
    @task
    def resolve_period():
        return "%(month)s"

    resolve_period() >> cosmos_config.warehouse_stage("warehouse", DBT_ARGS)


@dag(dag_id="bench_warehouse_watcher", schedule=None, start_date=pendulum.datetime(2020, 1, 1))
def watcher():
    from cosmos import DbtTaskGroup, ExecutionConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode

    @task
    def resolve_period():
        return "%(month)s"

    resolve_period() >> DbtTaskGroup(
        group_id="warehouse",
        project_config=cosmos_config.project_config,
        profile_config=cosmos_config.profile_config,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER, invocation_mode=InvocationMode.DBT_RUNNER
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, exclude=["resource_type:seed"], emit_datasets=False
        ),
        operator_args={**DBT_ARGS, "deferrable": False, "mode": "reschedule", "poke_interval": 1},
    )


layers()
watcher()
"""

RUN = r"""
import sys
from strategy_briefs import cli
from strategy_briefs.config import Settings
from airflow.dag_processing.dagbag import DagBag
settings = Settings.from_env()
cli._prepare(settings)
bag = DagBag(dag_folder=sys.argv[2])
assert not bag.import_errors, bag.import_errors
run = bag.dags[sys.argv[1]].test()
assert str(run.state) == "success", run.state
"""


def run() -> list[Result]:
    from strategy_briefs import roles

    seconds: dict[str, list[tuple[float, float, float]]] = {"layers": [], "watcher": []}
    bare: list[float] = []
    with scratch_databases("wh") as [params], scratch_folder("warehouse") as scratch:
        # dbt runs as the transformer, as in the DAG: views it creates stay its own to replace
        transformer = roles.role_params(
            params, roles.TRANSFORMER, roles.passwords_from(os.environ)[roles.TRANSFORMER]
        )
        (scratch / "dags").mkdir()
        (scratch / "dags" / "bench_warehouse.py").write_text(DAG_FILE % {"month": MONTH})
        env = {
            **os.environ,
            "WAREHOUSE_URL": params.url(),
            "STRATEGY_BRIEFS_FIRST_MONTH": MONTH,
            "AIRFLOW__CORE__DAGS_FOLDER": str(scratch / "dags"),
            **airflow_env(scratch),
        }
        migrate_airflow_home(env)
        # the history up to and including the month, so every round rebuilds the same month
        step("warehouse", LOAD_HISTORY, str(Period.parse(MONTH).shift(1)), env=env)
        for _ in range(ROUNDS):
            for variant in seconds:
                seconds[variant].append(_through_airflow(variant, scratch, env))
            bare.append(_bare_dbt_build(transformer))
        load = os.getloadavg()
    return _results(seconds, bare, load)


def _through_airflow(
    variant: str, scratch: Path, env: dict[str, str]
) -> tuple[float, float, float]:
    """(stage span, sum of its tasks, process wall) of one dag.test() of the variant."""
    dag_id = f"bench_warehouse_{variant}"
    started = time.perf_counter()
    step("warehouse", RUN, dag_id, str(scratch / "dags"), env=env, timeout=TIMEOUT)
    wall = time.perf_counter() - started
    with sqlite3.connect(scratch / "airflow" / "airflow.db") as conn:
        (run_id,) = conn.execute(
            "select run_id from dag_run where dag_id = ? order by id desc limit 1", (dag_id,)
        ).fetchone()
        rows = conn.execute(
            "select start_date, end_date, duration from task_instance"
            " where dag_id = ? and run_id = ? and task_id like 'warehouse.%'",
            (dag_id, run_id),
        ).fetchall()
    starts = [datetime.fromisoformat(r[0]) for r in rows if r[0]]
    ends = [datetime.fromisoformat(r[1]) for r in rows if r[1]]
    span = (max(ends) - min(starts)).total_seconds()
    return span, sum(float(r[2] or 0) for r in rows), wall


def _results(
    seconds: dict[str, list[tuple[float, float, float]]], bare: list[float], load: tuple
) -> list[Result]:
    best_bare = min(bare)
    layers, watcher = (min(seconds[v]) for v in ("layers", "watcher"))
    rounds = "; ".join(
        f"round {i + 1}: layers {seconds['layers'][i][0]:.1f} s, watcher"
        f" {seconds['watcher'][i][0]:.1f} s, bare {bare[i]:.1f} s"
        for i in range(len(bare))
    )
    common = (
        f"best of {len(bare)} alternating rounds ({rounds}); load average"
        f" {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end;"
    )

    def against_bare(name: str, candidate: str, measured: tuple, target: str, notes: str):
        span, task_sum, process = measured
        return Result(
            name=name,
            candidate=f"{candidate}, `dag.test()`, span of its tasks",
            baseline="one bare `dbt build` of the same selection (seeds excluded)",
            candidate_value=span,
            baseline_value=best_bare,
            unit="s",
            ratio=span / best_bare,
            target=target,
            passed=span / best_bare <= 1.3,
            notes=f"{common} sum of its task durations {task_sum:.1f} s, the process"
            f" {process:.1f} s{notes}.",
        )

    return [
        against_bare(
            "Warehouse stage, one build per layer",
            "the warehouse stage as shipped (a task per seed, one `dbt build` per layer)",
            layers,
            "≤ 1.3×",
            "",
        ),
        against_bare(
            "Warehouse stage, watcher mode",
            "Cosmos `ExecutionMode.WATCHER` over the same selection",
            watcher,
            "≤ 1.3× (informational: not chosen)",
            "; sensors reschedule every second (they cannot defer under dag.test())",
        ),
    ]
