"""The DAG folder parses cleanly, and every DAG carries what operators rely on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
# A closed quality gate is a verdict on the data, not a glitch: retrying cannot change it.
# A retry of the gate or of the approval would only repeat a decision (and its notice).
NO_RETRY_BY_DESIGN = {"delivery.quality_gate", "delivery.editor_approval"}


@pytest.fixture(scope="module")
def dagbag(dbt_manifest):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "strategy_briefs_monthly" in dagbag.dag_ids


def test_one_dag_per_file_named_like_its_dag_id(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_every_dag_has_tags_retries_docs_and_no_cycle(dagbag):

    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.doc_md and len(dag.doc_md) > 200, dag.dag_id
        dag.check_cycle()
        for task in dag.tasks:
            if task.task_id not in NO_RETRY_BY_DESIGN:
                assert task.retries >= 1, task.task_id
            assert task.doc_md, f"{task.task_id} has no doc_md"


def test_monthly_dag_schedule_is_a_data_interval_timetable_in_bank_time(dagbag):
    from airflow.timetables.interval import CronDataIntervalTimetable

    dag = dagbag.dags["strategy_briefs_monthly"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert str(dag.timetable._timezone) == "Asia/Shanghai"
    assert dag.catchup is True
    assert dag.max_active_runs == 1


def test_stages_are_task_groups_with_a_task_per_seed_and_per_dbt_layer(dagbag):
    """The warehouse shows an operator each seed and each layer (staging -> intermediate ->
    marts, one `dbt build` each, its tests with it), in dbt's order."""
    dag = dagbag.dags["strategy_briefs_monthly"]
    groups = {tid.split(".")[0] for tid in dag.task_ids if "." in tid}
    assert {"ingest", "warehouse", "briefs", "delivery"} <= groups
    dbt_tasks = {t for t in dag.task_ids if t.startswith("warehouse.")}
    seeds = {f"warehouse.{s}_seed_build" for s in
             ("kpi_catalogue", "lines_of_business", "peer_banks", "units")}  # fmt: skip
    layers = ["warehouse.staging", "warehouse.intermediate", "warehouse.marts"]
    assert dbt_tasks == seeds | set(layers)
    assert dag.get_task(layers[0]).upstream_task_ids == seeds
    for before, after in zip(layers, layers[1:], strict=False):
        assert dag.get_task(after).upstream_task_ids == {before}
        assert dag.get_task(before).downstream_task_ids == {after}
    selects = [dag.get_task(t).select for t in layers]
    assert selects == [["path:models/staging"], ["path:models/intermediate"], ["path:models/marts"]]
    # the staging views' tests against the seeds run with the staging layer
    assert {dag.get_task(t).indirect_selection for t in layers} == {"eager"}
    # a failed layer holds the briefs and the send: nothing downstream runs on a failure
    assert "warehouse.marts" in dag.get_task("briefs.render_briefs").upstream_task_ids
    assert dag.get_task("briefs.render_briefs").trigger_rule == "all_success"


def test_importing_the_dag_touches_no_database_or_network(dbt_manifest):
    """Parse the DAG file in a fresh interpreter that refuses every socket and DB driver."""
    probe = textwrap.dedent(
        f"""
        import socket, sys
        def refuse(*a, **k):
            raise AssertionError("network or database used at import time")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import psycopg, psycopg2
        psycopg.connect = refuse
        psycopg2.connect = refuse
        import runpy
        runpy.run_path({str(DAGS_DIR / "strategy_briefs_monthly.py")!r})
        heavy = [m for m in ("weasyprint", "matplotlib", "dbt.cli.main") if m in sys.modules]
        assert not heavy, heavy
        assert not [m for m in sys.modules if m.startswith("strategy_briefs_demo")], "the demo"
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_dags_serialise_as_the_scheduler_stores_them(dagbag):
    from airflow.serialization.serialized_objects import DagSerialization

    for dag in dagbag.dags.values():
        restored = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        assert set(restored.task_ids) == set(dag.task_ids)


def test_late_submissions_are_awaited_by_a_rescheduling_sensor(dagbag):
    dag = dagbag.dags["strategy_briefs_monthly"]
    sensor = dag.get_task("ingest.wait_for_submissions")
    assert sensor.mode == "reschedule"
    assert sensor.timeout > 0
    assert "ingest.validate_submissions" in sensor.downstream_task_ids


def test_every_ingest_and_render_task_has_an_execution_timeout(dagbag):
    """No input may hang a task (a padded .xlsx once stalled ingest for 73 minutes a pass)."""
    from strategy_briefs.config import Settings

    settings = Settings.from_env()
    dag = dagbag.dags["strategy_briefs_monthly"]
    bounded = [t for t in dag.tasks if t.task_id.startswith(("ingest.", "briefs."))]
    assert {t.task_id for t in bounded} >= {
        "ingest.wait_for_submissions",
        "ingest.validate_submissions",
        "ingest.load_submission",
        "ingest.publish_month",
        "briefs.render_briefs",
    }
    for task in bounded:
        minutes = (
            settings.render_timeout_minutes
            if task.task_id.startswith("briefs.")
            else settings.ingest_timeout_minutes
        )
        assert task.execution_timeout == timedelta(minutes=minutes), task.task_id


def test_task_timeouts_come_from_the_environment(monkeypatch):
    from strategy_briefs.config import Settings

    monkeypatch.delenv("STRATEGY_BRIEFS_INGEST_TIMEOUT_MINUTES", raising=False)
    monkeypatch.delenv("STRATEGY_BRIEFS_RENDER_TIMEOUT_MINUTES", raising=False)

    assert (
        Settings.from_env().ingest_timeout_minutes,
        Settings.from_env().render_timeout_minutes,
    ) == (60, 30)
    monkeypatch.setenv("STRATEGY_BRIEFS_INGEST_TIMEOUT_MINUTES", "15")
    monkeypatch.setenv("STRATEGY_BRIEFS_RENDER_TIMEOUT_MINUTES", "5")
    assert (
        Settings.from_env().ingest_timeout_minutes,
        Settings.from_env().render_timeout_minutes,
    ) == (15, 5)


def test_delivery_deadline_alert_is_set(dagbag):
    from strategy_briefs.config import Settings

    dag = dagbag.dags["strategy_briefs_monthly"]
    deadlines = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    (alert,) = deadlines
    assert alert.interval.days == Settings.from_env().delivery_deadline_days
    assert "notify_delivery_deadline_missed" in str(alert.callback.path)


def test_assets_trace_files_to_marts_to_briefs(dagbag):
    dag = dagbag.dags["strategy_briefs_monthly"]

    def names(assets):
        return {a.name for a in assets}

    # raw.lob_figures changes only when the month is published, all lines at once.
    assert names(dag.get_task("ingest.publish_month").outlets) == {"raw_lob_figures"}
    assert names(dag.get_task("ingest.load_submission").outlets) == set()
    # the marts layer builds the marts the renderer reads (declared in cosmos_config)
    assert names(dag.get_task("warehouse.marts").outlets) == {
        "marts_brief_facts",
        "marts_fct_kpi_values_monthly",
    }
    assert all(not t.outlets for t in dag.tasks if t.task_id.startswith("warehouse.")
               and t.task_id != "warehouse.marts")  # fmt: skip
    render = dag.get_task("briefs.render_briefs")
    assert {"marts_brief_facts", "marts_fct_kpi_values_monthly"} <= names(render.inlets)
    assert names(render.outlets) == {"briefs_pdf"}


def test_dbt_tasks_emit_no_lineage_assets_of_their_own(dagbag):
    """Cosmos' OpenLineage Assets fail on the embedded server's socket host; ours are declared."""
    dag = dagbag.dags["strategy_briefs_monthly"]
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("warehouse.")]
    assert dbt_tasks and all(t.emit_datasets is False for t in dbt_tasks)


def test_dbt_tasks_prepare_their_process_for_dbt_before_running(dagbag):
    """dbt runs in the task's process; the hook keeps dbt-adapters' flag list fixed and the
    heap frozen (orchestration/dbt_in_process.py, tests/orchestration/test_dbt_in_process.py
    and tests/test_long_lived.py)."""
    from strategy_briefs.orchestration.dbt_in_process import before_dbt_in_process

    dag = dagbag.dags["strategy_briefs_monthly"]
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("warehouse.")]
    assert dbt_tasks
    assert all(t._pre_execute_hook is before_dbt_in_process for t in dbt_tasks)


def test_an_editor_approval_stands_between_the_gate_and_the_send(dagbag):
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    dag = dagbag.dags["strategy_briefs_monthly"]
    approval = dag.get_task("delivery.editor_approval")
    assert isinstance(approval, ApprovalOperator)
    assert approval.upstream_task_ids == {"delivery.quality_gate"}
    assert approval.downstream_task_ids == {"delivery.deliver_briefs"}
    assert dag.get_task("delivery.deliver_briefs").upstream_task_ids >= {approval.task_id}
    assert set(approval.params) == {"comment"}  # the DAG's params are not a form field


def test_the_month_is_published_once_after_every_line_is_staged(dagbag):
    """Each line stages in its own mapped task; raw.lob_figures changes in one task only,
    after all of them and before any dbt node reads it (issue 17: all or nothing)."""
    dag = dagbag.dags["strategy_briefs_monthly"]
    publish = dag.get_task("ingest.publish_month")
    assert {"ingest.load_submission", "ingest.validate_submissions"} <= publish.upstream_task_ids
    assert publish.trigger_rule == "all_success"  # one failed line: nothing is published
    dbt_roots = [
        t
        for t in dag.tasks
        if t.task_id.startswith("warehouse.")
        and not any(u.startswith("warehouse.") for u in t.upstream_task_ids)
    ]
    assert dbt_roots
    assert all(t.upstream_task_ids == {"ingest.publish_month"} for t in dbt_roots)
