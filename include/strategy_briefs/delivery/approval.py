"""Editor approvals (maker-checker): `delivery.approvals`, migration `007_approvals.sql`.

Rules:
- a month is sent only under an 'approved' row of its own run (`approval_for_run`);
- that row covers exactly the PDFs it names: a brief whose hash differs is not covered
  (`uncovered_briefs`), so nothing changed after the decision goes out under it;
- the latest decision of a run counts (a cleared approval task asks again);
- `auto` rows say so (policy 'auto', decided by `AUTO_DECIDER`): nobody looked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams

Policy = Literal["required", "auto"]
Decision = Literal["approved", "rejected"]
POLICIES: tuple[Policy, ...] = ("required", "auto")
AUTO_DECIDER = "STRATEGY_BRIEFS_APPROVAL=auto"


class NotApproved(RuntimeError):
    """The briefs about to be sent have no editor's approval: nothing is sent."""


@dataclass(frozen=True)
class Approval:
    approval_id: int | None  # None until recorded
    period: str
    run_id: str
    policy: Policy
    decision: Decision
    decided_by: str
    decided_at: datetime
    comment: str
    pdf_sha256: Mapping[str, str]  # brief_id -> sha256 of the PDF decided on

    @property
    def approved(self) -> bool:
        return self.decision == "approved"

    def manifest_entry(self) -> dict[str, object]:
        return {
            "approval_id": self.approval_id,
            "policy": self.policy,
            "decision": self.decision,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(timespec="seconds"),
            "comment": self.comment,
        }


def parse_policy(raw: str | None) -> Policy:
    """'required' (also when unset) or 'auto'; anything else is one clear error."""
    value = (raw or "required").strip().lower()
    if value not in POLICIES:
        raise ValueError(f"STRATEGY_BRIEFS_APPROVAL must be 'required' or 'auto', got {raw!r}")
    return value  # type: ignore[return-value]


def record_approval(params: WarehouseParams, approval: Approval) -> Approval:
    """Insert the decision (its own transaction); returns it with its approval_id."""
    from strategy_briefs import warehouse

    with warehouse.connect(params) as conn:
        row = conn.execute(
            "insert into delivery.approvals (period, run_id, policy, decision, decided_by,"
            " decided_at, comment, pdf_sha256) values (%s, %s, %s, %s, %s, %s, %s, %s)"
            " returning approval_id",
            (
                Period.parse(approval.period).first_day,
                approval.run_id,
                approval.policy,
                approval.decision,
                approval.decided_by,
                approval.decided_at,
                approval.comment,
                json.dumps(dict(approval.pdf_sha256), sort_keys=True),
            ),
        ).fetchone()
    assert row is not None
    return _with_id(approval, int(row[0]))


def _with_id(approval: Approval, approval_id: int) -> Approval:
    from dataclasses import replace

    return replace(approval, approval_id=approval_id)


_COLUMNS = (
    "approval_id, to_char(period, 'YYYY-MM'), run_id, policy, decision, decided_by,"
    " decided_at, comment, pdf_sha256"
)


def approval_for_run(params: WarehouseParams, run_id: str) -> Approval | None:
    """The latest decision recorded for an Airflow run, or None."""
    from strategy_briefs import warehouse

    with warehouse.connect(params) as conn:
        row = conn.execute(
            f"select {_COLUMNS} from delivery.approvals where run_id = %s"
            " order by approval_id desc limit 1",
            (run_id,),
        ).fetchone()
    return Approval(*row) if row else None


def approvals_by_id(conn, approval_ids: set[int]) -> dict[int, Approval]:
    if not approval_ids:
        return {}
    rows = conn.execute(
        f"select {_COLUMNS} from delivery.approvals where approval_id = any(%s)",
        (sorted(approval_ids),),
    ).fetchall()
    return {row[0]: Approval(*row) for row in rows}


def uncovered_briefs(approval: Approval, pdf_sha256: Mapping[str, str]) -> list[str]:
    """Briefs about to be sent whose PDF is not the one the approval names."""
    return sorted(b for b, sha in pdf_sha256.items() if approval.pdf_sha256.get(b) != sha)


def require_approval(
    approval: Approval | None, period: str, pdf_sha256: Mapping[str, str]
) -> Approval:
    """The approval that authorises sending these PDFs, or `NotApproved` saying why not."""
    if approval is None:
        raise NotApproved(f"{period} not sent: no editor's decision recorded for this run")
    if not approval.approved:
        raise NotApproved(
            f"{period} not sent: rejected by {approval.decided_by}: {approval.comment}"
        )
    uncovered = uncovered_briefs(approval, pdf_sha256)
    if uncovered:
        raise NotApproved(
            f"{period} not sent: {', '.join(uncovered)} changed after the approval"
            f" {approval.approval_id}; run the month again for a new decision"
        )
    return approval
