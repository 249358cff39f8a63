"""Cosmos configuration for the dbt project, built once and shared by every DAG.

The manifest is built ahead (`strategy-briefs build-manifest`, run by set-up, CI and the
image build), so parsing the DAG never runs `dbt ls`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from airflow.sdk import Asset
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import (
    DbtResourceType,
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
)
from cosmos.dbt.graph import DbtNode
from cosmos.operators.local import DbtBuildLocalOperator

from strategy_briefs.config import Settings
from strategy_briefs.orchestration.dbt_in_process import before_dbt_in_process

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
def _manifest() -> dict[str, Any]:
    """The manifest the DAG is rendered from, read once per process."""
    return json.loads(DBT_MANIFEST_PATH.read_text(encoding="utf-8"))


def _manifest_nodes() -> dict[str, Any]:
    """The manifest's nodes: models, tests, seeds."""
    return _manifest()["nodes"]


def manifest_sources() -> dict[str, Any]:
    """The manifest's sources, with their freshness rules (`orchestration.freshness`)."""
    return _manifest()["sources"]


@functools.cache
def _manifest_seed_checksums() -> dict[str, str]:
    """dbt's checksum of every seed's CSV, from the manifest the DAG is rendered from."""
    nodes = _manifest_nodes()
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


# The seeds keep a task each (one dbt invocation only when a seed's CSV changed, none
# otherwise); the models and their tests run as one `dbt build` per layer (`LayerBuild`,
# below): a dbt invocation costs its start-up whatever it builds, so one per node made the
# month's warehouse 2.8x a bare `dbt build` (docs/architecture.md, dbt).
render_config = RenderConfig(
    load_method=LoadMode.DBT_MANIFEST,
    select=["resource_type:seed"],
    test_behavior=TestBehavior.BUILD,
    # Cosmos would emit OpenLineage-derived Assets per model (and fails on a socket-path
    # host); the DAG declares its own Assets for the raw figures, the marts and the briefs.
    emit_datasets=False,
    # Seeds change with a release, not with the month: each seed's task builds it only when
    # the warehouse does not hold its current CSV (SeedBuildWhenChanged, above).
    node_converters={DbtResourceType.SEED: seed_when_changed},
)

# Arguments for every dbt task (emit_datasets repeated for the operators built outside the
# DbtTaskGroup's rendering, which RenderConfig does not reach).
operator_args = {
    "emit_datasets": False,
    # dbt runs in the task's process: its flag list kept fixed, the process's heap frozen
    "pre_execute": before_dbt_in_process,
    "indirect_selection": "buildable",
    "doc_md": (
        "Builds one dbt seed and runs its tests (`dbt build --select <seed>`), only when the "
        "warehouse does not hold this CSV yet (seeds change with a release). On failure the "
        "log names the failing test; every outcome is also in `audit.dbt_node_results`. A "
        "bad seed: fix the CSV in dbt_project/seeds/, rebuild the manifest, clear this task."
    ),
}

# The marts the renderer reads, as the Assets the marts layer publishes (lineage in the UI).
BRIEF_FACTS = Asset(
    name="marts_brief_facts", uri="warehouse://marts/brief_facts", group="warehouse"
)
KPI_VALUES = Asset(
    name="marts_fct_kpi_values_monthly",
    uri="warehouse://marts/fct_kpi_values_monthly",
    group="warehouse",
)


@dataclass(frozen=True)
class Layer:
    """One folder of dbt_project/models, built by one task: its models and their tests."""

    name: str  # the folder under models/, and the task's id in the warehouse group
    doc_md: str
    outlets: tuple[Asset, ...] = ()


_FAILED = (
    " On failure the log names each failing model or test with dbt's own account of it "
    "(the compiled SQL that found the bad rows); every outcome is also in "
    "`audit.dbt_node_results`. Bad figures: correct the submission and run the month "
    "again. A broken model: fix it in dbt_project/, rebuild the manifest, clear this task: "
    "a retry or a clear builds only what this run has not built yet from the month's "
    "current figures."
)
LAYERS = (
    Layer(
        "staging",
        "Builds the staging views over the month's raw figures and runs their tests, with "
        "the cross-checks against the seeds (unknown KPI, unit or line of business: the "
        "submission passed validation but disagrees with the catalogue; fix the seed or the "
        "file)." + _FAILED,
    ),
    Layer(
        "intermediate",
        "Builds the intermediate views (同比/环比, ranks among the big four, branch standings, "
        "streaks and records) and runs their tests." + _FAILED,
    ),
    Layer(
        "marts",
        "Builds the month's rows of the marts the briefs read (brief_facts has an enforced "
        "contract) and runs their tests, the checks of the figures against each other "
        "(a component above its total, a ratio outside 0-1, a reported rank that disagrees "
        "with the computed one)." + _FAILED,
        outlets=(BRIEF_FACTS, KPI_VALUES),
    ),
)


@functools.cache
def _layer_nodes(layer: str) -> dict[str, tuple[str, str]]:
    """unique_id -> (resource_type, name) of the layer's models and the data tests on them."""
    nodes = _manifest_nodes()
    models = {
        unique_id
        for unique_id, node in nodes.items()
        if node["resource_type"] == "model" and node["fqn"][1] == layer
    }
    tests = {
        unique_id
        for unique_id, node in nodes.items()
        if node["resource_type"] == "test" and set(node["depends_on"]["nodes"]) & models
    }
    return {u: (nodes[u]["resource_type"], nodes[u]["name"]) for u in models | tests}


def still_to_build(layer: str, built: set[str]) -> list[str]:
    """The selection that builds what of `layer` is not in `built`: the models not built yet
    (their tests come with them) and the tests that have not passed on a built model."""
    nodes = _layer_nodes(layer)
    models = [name for u, (kind, name) in nodes.items() if kind == "model" and u not in built]
    tests = [name for u, (kind, name) in nodes.items() if kind == "test" and u not in built]
    return sorted(models + tests)


class LayerBuild(DbtBuildLocalOperator):
    """`dbt build` of one layer (`path:models/<layer>`): its models and their tests in one
    dbt invocation, dbt's threads running what does not depend on each other.

    A failing test stops the layer's nodes downstream of it (dbt build) and fails the task,
    so every later layer and the send wait. A retry or a clear builds only what this DAG
    run has not built yet from the month's current figures (`tasks.built_by_run`, read
    from audit.dbt_node_results): what already passed is not built again.
    """

    def __init__(self, *, layer: str, **kwargs: Any) -> None:
        super().__init__(select=[f"path:models/{layer}"], **kwargs)
        self.layer = layer

    def execute(self, context: Any, **kwargs: Any) -> None:
        from strategy_briefs.orchestration.tasks import built_by_run

        built = built_by_run(str(self.vars["period"]), context["run_id"])
        done = sorted(name for u, (_, name) in _layer_nodes(self.layer).items() if u in built)
        if done:
            self.select = still_to_build(self.layer, built)
            self.log.info("%s: built by this run already, not again: %s", self.layer, done)
            if not self.select:
                return
        super().execute(context, **kwargs)


def warehouse_stage(group_id: str, dbt_args: dict[str, Any]) -> DbtTaskGroup:
    """The warehouse stage: a task per seed (Cosmos' rendering, `SeedBuildWhenChanged`),
    then one `LayerBuild` per layer in dbt's order, staging -> intermediate -> marts."""
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=project_config,
        profile_config=profile_config,
        execution_config=execution_config,
        render_config=render_config,
        operator_args=dbt_args,
    )
    upstream: Any = list(group.children.values())
    parse = parse_args(group)
    for layer in LAYERS:
        task = LayerBuild(
            layer=layer.name,
            task_id=layer.name,
            task_group=group,
            project_dir=DBT_PROJECT_DIR,
            profile_config=profile_config,
            # Each layer's tests read only that layer's models and the seeds, so eager picks
            # every test of the layer, the staging views' cross-checks with the seeds too.
            **{
                **dbt_args,
                **parse,
                "indirect_selection": "eager",
                "doc_md": layer.doc_md,
                "outlets": list(layer.outlets),
            },
        )
        upstream >> task
        upstream = task
    return group


def parse_args(group: DbtTaskGroup) -> dict[str, Any]:
    """What Cosmos gave the group's rendered tasks to skip parsing the project (its
    partial-parse cache, the manifest), for the dbt tasks built beside them: without it each
    of their dbt invocations parsed the whole project, 5 s and more (`target/partial_parse`
    holds one parse, for one set of vars; the first invocation of a run parses in full)."""
    rendered = next(iter(group.children.values()))
    return {
        "cache_dir": rendered.cache_dir,
        "manifest_filepath": rendered.manifest_filepath,
        "partial_parse": rendered.partial_parse,
    }
