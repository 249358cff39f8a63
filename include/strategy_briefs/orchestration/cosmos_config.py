"""Cosmos configuration for the dbt project, built once and shared by every DAG.

The manifest is built ahead (`strategy-briefs build-manifest`, run by set-up, CI and the
image build), so parsing the DAG never runs `dbt ls`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import (
    DbtResourceType,
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
)
from cosmos.dbt.graph import DbtNode
from cosmos.operators.local import (
    DbtBuildLocalOperator,
    DbtSourceLocalOperator,
    DbtTestLocalOperator,
)

from strategy_briefs.config import Settings
from strategy_briefs.orchestration.dbt_in_process import keep_dbt_behavior_flags_fixed

_SETTINGS = Settings.from_env()  # as the DAG file reads it when it is parsed
DBT_PROJECT_DIR = _SETTINGS.dbt_project_dir
DBT_MANIFEST_PATH = _SETTINGS.dbt_manifest_path

project_config = ProjectConfig(
    dbt_project_path=DBT_PROJECT_DIR,
    manifest_path=DBT_MANIFEST_PATH,
    project_name="strategy_briefs",
    install_dbt_deps=False,  # no packages.yml: nothing to install, never a download
)

# profiles.yml reads the warehouse from env vars; the DAG fills them from the Airflow
# connection at run time, so no credential is ever written to disk.
profile_config = ProfileConfig(
    profile_name="strategy_briefs",
    target_name="warehouse",
    profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
)

# dbt runs in the task's own process (no subprocess start-up per model).
execution_config = ExecutionConfig(
    execution_mode=ExecutionMode.LOCAL,
    invocation_mode=InvocationMode.DBT_RUNNER,
)


@functools.cache
def _manifest_seed_checksums() -> dict[str, str]:
    """dbt's checksum of every seed's CSV, from the manifest the DAG is rendered from."""
    nodes = json.loads(DBT_MANIFEST_PATH.read_text(encoding="utf-8"))["nodes"]
    return {
        unique_id: node["checksum"]["checksum"]
        for unique_id, node in nodes.items()
        if node["resource_type"] == "seed"
    }


class SeedBuildWhenChanged(DbtBuildLocalOperator):
    """`dbt build` of one seed and its tests, skipped when the warehouse holds this CSV.

    Seeds change with a release, not with the month: the warehouse records dbt's checksum of
    each seed it built (audit.dbt_node_results.seed_checksum, by the on-run-end hook), and
    the month's task builds the seed only when that record is missing or differs from the
    manifest's. The task stays in the graph, one per seed, so the UI shows each seed and
    whether this run built it. (Cosmos' own `SeedRenderingBehavior.WHEN_SEED_CHANGES` keeps
    its record in an Airflow Variable, which says nothing about a new or restored warehouse,
    and does not combine with `TestBehavior.BUILD`.)
    """

    def __init__(self, *, seed_unique_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed_unique_id = seed_unique_id

    def execute(self, context: Any, **kwargs: Any) -> None:
        from strategy_briefs.orchestration.tasks import built_seed_checksum

        wanted = _manifest_seed_checksums().get(self.seed_unique_id)
        if wanted is not None and built_seed_checksum(self.seed_unique_id) == wanted:
            self.log.info(
                "%s: the warehouse holds this CSV already; not rebuilt", self.seed_unique_id
            )
            return
        super().execute(context, **kwargs)


def seed_when_changed(
    dag: Any, task_group: Any, node: DbtNode, task_id: str, task_args: dict[str, Any], **_: Any
) -> SeedBuildWhenChanged:
    """Node converter for seeds (`RenderConfig.node_converters`): see `SeedBuildWhenChanged`."""
    return SeedBuildWhenChanged(
        dag=dag,
        task_group=task_group,
        task_id=task_id,
        seed_unique_id=node.unique_id,
        select=[f"fqn:{'.'.join(node.fqn or [node.resource_name])}"],
        **task_args,
    )


# One task per seed and model running `dbt build --select <node>`: the node and its tests
# together, so a failing test stops everything downstream. `buildable` indirect selection
# runs a test with several parents with the node that is built last among them.
render_config = RenderConfig(
    load_method=LoadMode.DBT_MANIFEST,
    test_behavior=TestBehavior.BUILD,
    # Cosmos would emit OpenLineage-derived Assets per model (and fails on a socket-path
    # host); the DAG declares its own Assets for the raw figures, the marts and the briefs.
    emit_datasets=False,
    # Seeds change with a release, not with the month: each seed's task builds it only when
    # the warehouse does not hold its current CSV (SeedBuildWhenChanged, below).
    node_converters={DbtResourceType.SEED: seed_when_changed},
)

# Tests of the staging views that also read a seed (relationships, unit and line-of-business
# checks) have no single node to build with; they run together in one task once every
# seed and view exists (cheaper than one task per test: each dbt start costs ~1.5 s).
STAGING_CROSS_CHECKS = ["stg_raw__lob_figures", "stg_raw__load_audits"]

# Arguments for every dbt task (emit_datasets repeated for the operators built outside the
# DbtTaskGroup, which RenderConfig does not reach).
operator_args = {
    "emit_datasets": False,
    # dbt runs in the task's process: stop dbt-adapters' flag list growing per invocation
    "pre_execute": keep_dbt_behavior_flags_fixed,
    "indirect_selection": "buildable",
    "doc_md": (
        "Builds one dbt node (a seed or a model) for the reporting month and runs its tests "
        "(`dbt build --select <node>`). On failure the log names the failing test and the "
        "compiled SQL that found the bad rows; every outcome is also in "
        "`audit.dbt_node_results`. Bad figures: correct the submission and re-run the month. "
        "A broken model: fix it in dbt_project/, rebuild the manifest, clear this task."
    ),
}


def staging_cross_checks(dbt_args: dict[str, Any], **task_args: Any) -> DbtTestLocalOperator:
    """The one task running `STAGING_CROSS_CHECKS`' tests that read a seed (see above)."""
    return DbtTestLocalOperator(
        project_dir=DBT_PROJECT_DIR,
        profile_config=profile_config,
        select=STAGING_CROSS_CHECKS,
        **{**dbt_args, "indirect_selection": "eager", **task_args},
    )


def source_freshness(dbt_args: dict[str, Any], **task_args: Any) -> DbtSourceLocalOperator:
    """`dbt source freshness` in the task's process, like every dbt task of the month.

    In-process it shares the warehouse tasks' parsed project (Cosmos' partial-parse cache),
    so it costs its six `max(loaded_at)` queries and little more; a subprocess paid dbt's
    start-up and a full parse (7 s). Its outcome lands in audit.dbt_node_results through
    the project's on-run-end hook, where the quality gate reads it.
    """
    args = {k: v for k, v in dbt_args.items() if k != "indirect_selection"}  # not a flag of it
    return DbtSourceLocalOperator(
        project_dir=DBT_PROJECT_DIR,
        profile_config=profile_config,
        **{**args, **task_args},
    )
