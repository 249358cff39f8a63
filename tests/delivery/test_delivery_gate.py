"""Quality gate against the real raw.load_audit and dbt artifact files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strategy_briefs.delivery.gate import check_gate

LOBS = ["credit_card", "mobile_banking"]


@pytest.fixture
def loaded_period(db) -> str:
    period = "2039-06"
    with db.transaction():
        db.execute("delete from raw.load_audit where period = '2039-06-01'")
        for lob, status in [("mobile_banking", "loaded"), ("credit_card", "loaded"),
                            ("precious_metals", "rejected")]:  # fmt: skip
            db.execute(
                "insert into raw.load_audit (period, lob_code, source_file, source_sha256, "
                "row_count, status) values ('2039-06-01', %s, %s, %s, 10, %s)",
                (lob, f"{lob}.csv", "0" * 64, status),
            )
    return period


def run_results(tmp_path: Path, statuses: dict[str, str], name="run_results.json") -> Path:
    path = tmp_path / name
    path.write_text(
        json.dumps({"results": [{"unique_id": k, "status": v} for k, v in statuses.items()]}),
        encoding="utf-8",
    )
    return path


GOOD_TESTS = {
    "model.strategy_briefs.brief_facts": "success",
    "test.strategy_briefs.not_null_brief_facts_value_base.1a": "pass",
    "test.strategy_briefs.unique_brief_facts_key.2b": "warn",
}


def test_all_good_passes(warehouse_params, loaded_period, tmp_path):
    result = check_gate(
        warehouse_params,
        loaded_period,
        LOBS,
        [],
        dbt_results=run_results(tmp_path, GOOD_TESTS),
        freshness_results=run_results(tmp_path, {"source.sb.raw.load_audit": "pass"}, "s.json"),
    )
    assert result.ok and result.reasons == []


def test_every_failure_is_a_reason_on_one_line(warehouse_params, loaded_period, tmp_path):
    tests = {**GOOD_TESTS, "test.strategy_briefs.accepted_values_kind.3c": "fail"}
    result = check_gate(
        warehouse_params,
        loaded_period,
        [*LOBS, "precious_metals", "private_banking"],
        ["字体缺失: Noto Sans CJK SC\nfallback used"],
        dbt_results=run_results(tmp_path, tests),
        freshness_results={"source.sb.raw.load_audit": "error"},
    )
    assert not result.ok
    assert result.reasons == [
        "line(s) of business not loaded: precious_metals, private_banking",
        "dbt: 1 failed (accepted_values_kind)",
        "freshness failed: load_audit",
        "render warnings: 字体缺失: Noto Sans CJK SC fallback used",
    ]
    line = result.one_line(loaded_period)
    assert "\n" not in line and line.startswith("2039-06 not sent: ")


def test_missing_evidence_fails_closed(warehouse_params, loaded_period, tmp_path):
    result = check_gate(
        warehouse_params,
        loaded_period,
        LOBS,
        [],
        dbt_results=tmp_path / "absent" / "run_results.json",
        freshness_results=None,
    )
    assert not result.ok
    assert any("run_results.json not found" in r for r in result.reasons)
    assert "no freshness results given" in result.reasons
    only_models = check_gate(
        warehouse_params,
        loaded_period,
        LOBS,
        [],
        dbt_results=run_results(tmp_path, {"model.strategy_briefs.brief_facts": "success"}),
        freshness_results={"source.sb.raw.load_audit": "pass"},
    )
    assert only_models.reasons == ["dbt results hold no test results"]


def test_month_without_loads_is_held_back(warehouse_params, tmp_path):
    result = check_gate(
        warehouse_params,
        "2039-07",
        LOBS,
        [],
        dbt_results={"not_null_x": "pass"},
        freshness_results={"source.sb.raw.load_audit": "pass"},
    )
    assert result.reasons == ["line(s) of business not loaded: credit_card, mobile_banking"]
