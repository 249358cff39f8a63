"""The freshness check on a real warehouse: the rules of the dbt manifest, one query as the
transformer, each source's status in audit.dbt_node_results, and the quality gate reading
it. A late line of business is a load whose loaded_at is set back.

The module has its own database: freshness reads every load of a line of business, and
other modules load lines into the session's."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path

import pytest

from strategy_briefs import roles, warehouse
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import Settings
from strategy_briefs.dbt_command import run_dbt
from strategy_briefs.orchestration import cosmos_config, freshness, tasks
from strategy_briefs.periods import Period

PERIOD = Period(2020, 6)
CREDIT_CARD = "source.strategy_briefs.raw.load_audit_credit_card"
SOURCES_YML = Path("models/staging/raw/_raw__sources.yml")


@pytest.fixture(scope="module")
def owner(fresh_database, dbt_manifest):
    return fresh_database("sb_freshness")


@pytest.fixture
def run_id(owner, monkeypatch) -> str:
    """A run whose tasks log in as the DAG's do: the transformer checks, the reporter gates."""
    for role in (roles.TRANSFORMER, roles.REPORTER):
        conn_id = roles.CONN_IDS[role].upper()
        params = roles.role_params(owner, role)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", params.airflow_conn_json())
    return f"manual__freshness_{uuid.uuid4().hex[:8]}"


def loaded(owner, days_ago: dict[str, float | None]) -> None:
    """Each line of business's only load of the month, `days_ago` old (None: rejected)."""
    with warehouse.connect(owner) as conn:
        conn.execute("delete from raw.load_audit")
        for lob, age in days_ago.items():
            conn.execute(
                "insert into raw.load_audit (period, lob_code, source_file, source_sha256,"
                " row_count, status, loaded_at)"
                " values (%s, %s, %s, '0', 1, %s, now() - %s * interval '1 day')",
                (PERIOD.first_day, lob, f"{lob}.csv", "rejected" if age is None else "loaded",
                 age or 0),
            )  # fmt: skip


def every_line(**ages: float | None) -> dict[str, float | None]:
    lobs = load_catalogue(Settings.from_env().seeds_dir).lines_of_business
    return {lob: ages.get(lob, 0.0) for lob in lobs}


def recorded(owner, run_id: str) -> dict[str, tuple[str, str]]:
    with warehouse.connect(owner) as conn:
        rows = conn.execute(
            "select unique_id, resource_type, status from audit.dbt_node_results"
            " where airflow_run_id = %s and period = %s",
            (run_id, str(PERIOD)),
        ).fetchall()
    return {unique_id: (kind, status) for unique_id, kind, status in rows}


def logged(caplog) -> list[logging.LogRecord]:
    """What the check's task logged."""
    return [r for r in caplog.records if r.name == "strategy_briefs.orchestration.tasks"]


def gate(owner, run_id: str) -> str:
    """The quality gate of the run, its tests passed (as the warehouse tasks record them)."""
    with warehouse.connect(owner) as conn:
        conn.execute(
            "insert into audit.dbt_node_results (invocation_id, period, airflow_run_id,"
            " unique_id, resource_type, status) values ('t', %s, %s, 'test.x', 'test', 'pass')",
            (str(PERIOD), run_id),
        )
    return tasks.quality_gate(str(PERIOD), [], run_id)


def test_every_line_loaded_lately_passes_and_each_source_is_recorded(owner, run_id):
    loaded(owner, every_line())
    summary = tasks.check_source_freshness(str(PERIOD), run_id)
    statuses = recorded(owner, run_id)
    # Every source the yml gives a freshness rule, under dbt's unique ids.
    assert set(statuses) == {
        unique_id
        for unique_id, source in cosmos_config.manifest_sources().items()
        if source["freshness"]
    }
    assert CREDIT_CARD in statuses
    assert set(statuses.values()) == {("source", "pass")}
    assert summary == f"{PERIOD}: {len(statuses)} sources checked, 0 late (warn)"
    assert gate(owner, run_id) == f"{PERIOD}: quality gate passed"


def test_a_line_past_warn_after_warns_and_the_gate_lets_it_through(owner, run_id, caplog):
    loaded(owner, every_line(credit_card=40))
    with caplog.at_level(logging.INFO, logger="strategy_briefs.orchestration.tasks"):
        tasks.check_source_freshness(str(PERIOD), run_id)
    assert recorded(owner, run_id)[CREDIT_CARD] == ("source", "warn")
    assert recorded(owner, run_id)["source.strategy_briefs.raw.load_audit"] == ("source", "pass")
    [late] = [r for r in logged(caplog) if r.levelno == logging.WARNING]
    assert late.getMessage().startswith(
        "raw.load_audit_credit_card: warn, newest load 40.0 days old ("
    )
    assert gate(owner, run_id) == f"{PERIOD}: quality gate passed"


def test_a_line_past_error_after_fails_the_check_and_the_gate_holds_the_send(owner, run_id, caplog):
    loaded(owner, every_line(credit_card=50, mobile_banking=40))
    with pytest.raises(freshness.SourcesStale) as stale:
        with caplog.at_level(logging.INFO, logger="strategy_briefs.orchestration.tasks"):
            tasks.check_source_freshness(str(PERIOD), run_id)
    # The operators' line names the source in error and how old its newest load is.
    assert str(stale.value).startswith(
        "raw.load_audit_credit_card: error, newest load 50.0 days old ("
    )
    assert "mobile_banking" not in str(stale.value)  # a warn does not fail the check
    assert [
        r.getMessage().split(",")[0] for r in logged(caplog) if r.levelno >= logging.WARNING
    ] == [
        "raw.load_audit_credit_card: error",
        "raw.load_audit_mobile_banking: warn",
    ]
    statuses = recorded(owner, run_id)
    assert statuses[CREDIT_CARD] == ("source", "error")
    assert statuses["source.strategy_briefs.raw.load_audit_mobile_banking"] == ("source", "warn")
    with pytest.raises(tasks.GateClosed, match=r"freshness failed: load_audit_credit_card$"):
        gate(owner, run_id)


def test_a_line_without_a_successful_load_is_in_error(owner, run_id):
    loaded(owner, every_line(credit_card=None))  # its only file was rejected
    with pytest.raises(freshness.SourcesStale, match="raw.load_audit_credit_card: error, no load"):
        tasks.check_source_freshness(str(PERIOD), run_id)
    assert recorded(owner, run_id)[CREDIT_CARD] == ("source", "error")


def test_the_rules_come_from_the_manifest_of_the_yml(owner, run_id, tmp_path):
    """The same warehouse, the project's yml with credit card's error_after cut from 45 to 30
    days and parsed again: its 40-day-old load is an error instead of a warn."""
    settings = Settings.from_env()
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.dbt_project_dir, project, ignore=shutil.ignore_patterns("target"))
    yml = project / SOURCES_YML
    declared = yml.read_text(encoding="utf-8")
    credit_card = declared.index("- name: load_audit_credit_card")
    cut = declared[credit_card:].replace("error_after: {count: 45", "error_after: {count: 30", 1)
    yml.write_text(declared[:credit_card] + cut, encoding="utf-8")
    target = tmp_path / "target"
    target.mkdir()
    parsed = settings.dbt_manifest_path.parent / "partial_parse.msgpack"
    if parsed.exists():  # dbt parses only the changed yml again
        shutil.copy(parsed, target)
    run_dbt(project, "parse", env=owner.dbt_env(), target_path=target)
    edited = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["sources"]

    loaded(owner, every_line(credit_card=40))
    with warehouse.connect(roles.role_params(owner, roles.TRANSFORMER)) as conn:
        shipped_rules = freshness.freshness_rules(cosmos_config.manifest_sources())
        as_shipped = freshness.check_freshness(conn, shipped_rules)
        as_edited = freshness.check_freshness(conn, freshness.freshness_rules(edited))
    assert {a.rule.unique_id: a.status for a in as_shipped}[CREDIT_CARD] == "warn"
    assert {a.rule.unique_id: a.status for a in as_edited}[CREDIT_CARD] == "error"
    assert {a.rule.unique_id: a.status for a in as_edited if a.rule.unique_id != CREDIT_CARD} == {
        a.rule.unique_id: "pass" for a in as_shipped if a.rule.unique_id != CREDIT_CARD
    }


def test_an_age_exactly_at_a_threshold_is_not_over_it():
    """dbt compares strictly: 45 days old is a warn under error_after 45 days, not an error."""
    days = freshness.Threshold(45, "day")
    rule = freshness.FreshnessRule(
        "source.p.raw.t", "raw.t", "raw", "t", "loaded_at", (),
        warn_after=freshness.Threshold(35, "day"), error_after=days,
    )  # fmt: skip
    assert freshness.freshness_status(rule, days.seconds) == "warn"
    assert freshness.freshness_status(rule, days.seconds + 1) == "error"
    assert freshness.freshness_status(rule, 35 * 86400) == "pass"


def test_a_filter_is_composed_from_its_conditions_and_any_other_is_refused():
    """The declared filters become (column, value) pairs, composed as identifiers and
    literals; SQL that is not `column = 'value'` joined by `and` never reaches the query."""
    declared = "lob_code = 'credit_card' and status = 'loaded'"
    assert freshness.filter_conditions("source.p.raw.t", declared) == (
        ("lob_code", "credit_card"),
        ("status", "loaded"),
    )
    for refused in ("status = 'loaded' or true", "status = 'it''s'", "1 = 1; drop table t"):
        with pytest.raises(ValueError, match="source.p.raw.t: freshness filter"):
            freshness.filter_conditions("source.p.raw.t", refused)
