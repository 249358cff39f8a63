"""The approval rules of `delivery.approval`: policy parsing, and what an approval covers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from strategy_briefs.config import Settings
from strategy_briefs.delivery.approval import (
    Approval,
    NotApproved,
    approval_for_run,
    record_approval,
    require_approval,
)

SHA_A, SHA_B = "a" * 64, "b" * 64


def _approval(decision: str = "approved", **changes) -> Approval:
    fields = dict(
        approval_id=None,
        period="2020-06",
        run_id="manual__test",
        policy="required",
        decision=decision,
        decided_by="editor",
        decided_at=datetime(2020, 7, 5, 3, 0, tzinfo=UTC),
        comment="已核对",
        pdf_sha256={"special_edition": SHA_A},
    )
    return Approval(**{**fields, **changes})


@pytest.mark.parametrize("raw", ["sometimes", "yes", "AUTOMATIC"])
def test_an_unknown_policy_is_one_clear_error(monkeypatch, raw):
    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL", raw)
    with pytest.raises(ValueError, match="STRATEGY_BRIEFS_APPROVAL must be 'required' or 'auto'"):
        Settings.from_env()


def test_approval_is_required_unless_auto_is_asked_for(monkeypatch):
    monkeypatch.delenv("STRATEGY_BRIEFS_APPROVAL", raising=False)
    monkeypatch.setenv("STRATEGY_BRIEFS_EDITORS", " alice, ,bob ")
    settings = Settings.from_env()
    assert settings.approval_policy == "required"
    assert settings.approval_editors == ("alice", "bob")
    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL", "Auto")
    assert Settings.from_env().approval_policy == "auto"


@pytest.mark.parametrize("raw", ["0", "-5", "soon"])
def test_a_wait_that_is_not_a_positive_number_of_minutes_is_refused(monkeypatch, raw):
    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES", raw)
    with pytest.raises(ValueError, match="STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES"):
        Settings.from_env()


def test_only_an_approval_of_exactly_these_pdfs_lets_them_go():
    approved = _approval()
    assert require_approval(approved, "2020-06", {"special_edition": SHA_A}) is approved
    with pytest.raises(NotApproved, match="special_edition changed after the approval"):
        require_approval(approved, "2020-06", {"special_edition": SHA_B})
    with pytest.raises(NotApproved, match="mobile_banking changed"):  # never shown to the editor
        require_approval(approved, "2020-06", {"mobile_banking": SHA_A})
    with pytest.raises(NotApproved, match="rejected by editor: 数据有误"):
        require_approval(_approval("rejected", comment="数据有误"), "2020-06", {})
    with pytest.raises(NotApproved, match="no editor's decision"):
        require_approval(None, "2020-06", {"special_edition": SHA_A})


def test_the_latest_decision_of_a_run_counts(warehouse_params):
    run_id = f"manual__latest_{datetime.now(UTC).timestamp()}"
    record_approval(warehouse_params, _approval("rejected", run_id=run_id, comment="先别发"))
    again = record_approval(warehouse_params, _approval(run_id=run_id))
    found = approval_for_run(warehouse_params, run_id)
    assert found == again and found.approved and found.approval_id is not None
    assert found.pdf_sha256 == {"special_edition": SHA_A}
    assert approval_for_run(warehouse_params, run_id + "-other") is None
