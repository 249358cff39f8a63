"""The editor's approval between the quality gate and the send (maker-checker).

`EditorApproval` is Airflow's `ApprovalOperator` (Required Actions in the UI) with these rules:
- `dry_run`: the step is skipped, and with it the send;
- policy `auto` (STRATEGY_BRIEFS_APPROVAL=auto, demo and tests): an approval is recorded as
  such, nobody is asked;
- policy `required`: the request (month, gate summary, lead sentence of each article, the
  PDFs) goes to the editors of STRATEGY_BRIEFS_EDITORS only; none configured is one error;
- every answer is recorded in `delivery.approvals` before anything else happens;
- a rejection skips the send and tells the operators the comment;
- no answer within STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES fails the task with one line, which
  the task's failure callback sends to the operators (once: the task has no retries).
Wording lives in `templates/approval/`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from strategy_briefs.briefs.context import SPECIAL_EDITION_ID, HeadlineLine
from strategy_briefs.config import Settings
from strategy_briefs.delivery.approval import AUTO_DECIDER, Approval, record_approval
from strategy_briefs.orchestration.handoff import RenderedBrief
from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams

log = logging.getLogger(__name__)

PERIOD_TASK = "resolve_period"
RENDER_TASK = "briefs.render_briefs"
COMMENT = "comment"


@dataclass(frozen=True)
class GateSummary:
    loaded_lobs: tuple[str, ...]
    tests_passed: int
    tests_warned: int
    render_warnings: tuple[str, ...]


@dataclass(frozen=True)
class RenderedPdf:
    brief_id: str
    title_zh: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class ApprovalRequest:
    period: Period
    period_label: str
    gate: GateSummary
    leads: tuple[HeadlineLine, ...]
    pdfs: tuple[RenderedPdf, ...]
    editors: tuple[str, ...]
    wait_minutes: float

    @property
    def pdf_sha256(self) -> dict[str, str]:
        return {pdf.brief_id: pdf.sha256 for pdf in self.pdfs}


# ---------------------------------------------------------------- what the editor reads


def gate_summary(params: WarehouseParams, period: Period, run_id: str, warnings) -> GateSummary:
    """What the gate passed on: the lines loaded this month and this run's dbt tests."""
    from strategy_briefs import warehouse
    from strategy_briefs.orchestration.tasks import node_results

    with warehouse.connect(params) as conn:
        loaded = conn.execute(
            "select distinct lob_code from raw.load_audit where period = %s"
            " and status = 'loaded' and submission = 'figures' order by lob_code",
            (period.first_day,),
        ).fetchall()
    tests = [s for k, s in node_results(params, run_id).items() if k.startswith("test.")]
    return GateSummary(
        loaded_lobs=tuple(lob for (lob,) in loaded),
        tests_passed=tests.count("pass"),
        tests_warned=tests.count("warn"),
        render_warnings=tuple(warnings),
    )


def article_leads(rendered: list[RenderedBrief]) -> tuple[HeadlineLine, ...]:
    """The lead sentence of each article, as the render handed them on for the mail: the
    special edition's lines (every article), else every brief's."""
    edition = [r for r in rendered if r.brief_id == SPECIAL_EDITION_ID]
    return tuple(line for r in (edition or rendered) for line in r.headline_lines)


def build_request(
    params: WarehouseParams,
    period: Period,
    run_id: str,
    rendered: list[RenderedBrief],
    settings: Settings,
) -> ApprovalRequest:
    return ApprovalRequest(
        period=period,
        period_label=period.label_zh,
        gate=gate_summary(params, period, run_id, [w for r in rendered for w in r.warnings]),
        leads=article_leads(rendered),
        pdfs=tuple(RenderedPdf(r.brief_id, r.title_zh, r.path, r.sha256) for r in rendered),
        editors=settings.approval_editors,
        wait_minutes=settings.approval_wait_minutes,
    )


@lru_cache(maxsize=8)
def _template(name: str):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    folder = Settings.from_env().templates_dir / "approval"
    env = Environment(loader=FileSystemLoader(folder), undefined=StrictUndefined)
    return env.get_template(name)


def wording(name: str, **values) -> str:
    """A text of templates/approval/ filled in, without the trailing newline."""
    return _template(name).render(**values).strip()


# ---------------------------------------------------------------- the decision


def decision_from_event(event: dict, period: Period, run_id: str, pdf_sha256) -> Approval:
    """The Approval an editor's HITL response amounts to."""
    user = event.get("responded_by_user") or {}
    chosen = event["chosen_options"]
    return Approval(
        approval_id=None,
        period=str(period),
        run_id=run_id,
        policy="required",
        decision="approved" if chosen == [ApprovalOperator.APPROVE] else "rejected",
        decided_by=user.get("name") or user.get("id") or "unknown",
        decided_at=_aware(event["responded_at"]),
        comment=str((event.get("params_input") or {}).get(COMMENT) or "").strip(),
        pdf_sha256=pdf_sha256,
    )


def auto_approval(period: Period, run_id: str, pdf_sha256) -> Approval:
    return Approval(
        approval_id=None,
        period=str(period),
        run_id=run_id,
        policy="auto",
        decision="approved",
        decided_by=AUTO_DECIDER,
        decided_at=datetime.now(UTC),
        comment="",
        pdf_sha256=pdf_sha256,
    )


def _aware(moment) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reporter() -> WarehouseParams:
    from strategy_briefs.orchestration.tasks import REPORTER_CONN_ID, warehouse_params

    return warehouse_params(REPORTER_CONN_ID)


def _period_and_rendered(context) -> tuple[Period, list[RenderedBrief]]:
    ti = context["ti"]
    return Period.parse(ti.xcom_pull(task_ids=PERIOD_TASK)), ti.xcom_pull(task_ids=RENDER_TASK)


class EditorApproval(ApprovalOperator):
    """Airflow's approval step with the project's policy; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        # The form is the comment alone; the DAG's params (dry_run…) are not for the editor.
        kwargs["params"] = {COMMENT: Param("", type="string", title="Comment")}
        kwargs["retries"] = 0  # a retry would ask again and notify again
        super().__init__(subject="(written when the task runs)", **kwargs)

    def execute(self, context):
        if context["params"].get("dry_run"):
            raise AirflowSkipException("dry_run: nothing will be sent, so no approval is asked")
        settings = Settings.from_env()
        period, rendered = _period_and_rendered(context)
        pdf_sha256 = {r.brief_id: r.sha256 for r in rendered}
        if settings.approval_policy == "auto":
            recorded = record_approval(
                _reporter(), auto_approval(period, context["run_id"], pdf_sha256)
            )
            log.warning("STRATEGY_BRIEFS_APPROVAL=auto: approval %s recorded as automatic "
                        "(demo and tests only; nobody reviewed %s)", recorded.approval_id, period)  # fmt: skip
            return {"approval_id": recorded.approval_id, "policy": "auto"}
        if not settings.approval_editors:
            raise AirflowFailException(
                "STRATEGY_BRIEFS_APPROVAL=required needs STRATEGY_BRIEFS_EDITORS (the Airflow "
                "users who may approve); nothing sent"
            )
        request = build_request(_reporter(), period, context["run_id"], rendered, settings)
        self.subject = wording("subject.txt", request=request)
        self.body = wording("body.md", request=request)
        self.assigned_users = [{"id": name, "name": name} for name in request.editors]
        self.response_timeout = timedelta(minutes=request.wait_minutes)
        return super().execute(context)

    def execute_complete(self, context, event):
        settings = Settings.from_env()
        period, rendered = _period_and_rendered(context)
        if event.get("error_type") == "timeout":
            raise AirflowFailException(
                wording(
                    "pending_notice.txt",
                    period=period,
                    editors=settings.approval_editors,
                    wait_minutes=settings.approval_wait_minutes,
                )
            )
        if "error" in event:
            return super().execute_complete(context=context, event=event)  # raises
        pdf_sha256 = {r.brief_id: r.sha256 for r in rendered}
        decision = decision_from_event(event, period, context["run_id"], pdf_sha256)
        recorded = record_approval(_reporter(), decision)
        log.info("%s %s by %s: %s", period, recorded.decision, recorded.decided_by,
                 recorded.comment or "(no comment)")  # fmt: skip
        if not recorded.approved:
            notify_rejection(recorded, context)  # first: skipping the send raises
        super().execute_complete(context=context, event=event)  # a rejection skips the send
        return {"approval_id": recorded.approval_id, "decision": recorded.decision}


def notify_rejection(approval: Approval, context) -> None:
    from strategy_briefs.orchestration.notify import OperatorNotice, notify_operators

    run_id = context["run_id"]
    line = wording("rejected_notice.txt", run_id=run_id, approval=approval)
    reason = f"rejected by {approval.decided_by}: {approval.comment or '(no comment)'}"
    notify_operators(OperatorNotice(run_id, context["ti"].task_id, reason, line))
