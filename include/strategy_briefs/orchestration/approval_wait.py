"""`strategy-briefs run` waiting for the editor: what a deployment's scheduler and UI do.

`dag.test()` parks the approval task until a response is recorded from outside (the
Required Actions UI or the HITL REST API of an api-server on the same metadata database).
Next to it, `ApprovalWatch`:
- shows the pending request once (subject, body, where to answer);
- at an interactive terminal whose operating-system user is an editor, takes the answer
  there and records it as that user (`os:<user>`);
- once the request's response deadline has passed, resolves it as timed out, as the
  scheduler's sweep does, so the task fails, the operators are told once and the run ends:
  a non-interactive run never blocks longer than STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES.
"""

from __future__ import annotations

import getpass
import select
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from strategy_briefs.orchestration.approval import COMMENT, wording

APPROVAL_TASK = "delivery.editor_approval"
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class PendingRequest:
    run_id: str
    subject: str
    body: str
    assignees: tuple[str, ...]
    response_deadline: datetime | None


def _approval_ti(session, dag_id: str, logical_date: datetime):
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI
    from sqlalchemy import select as sql_select
    from sqlalchemy.orm import joinedload

    return session.scalars(
        sql_select(TI)
        .join(DagRun, (DagRun.dag_id == TI.dag_id) & (DagRun.run_id == TI.run_id))
        .where(
            TI.dag_id == dag_id, TI.task_id == APPROVAL_TASK, DagRun.logical_date == logical_date
        )
        .options(joinedload(TI.hitl_detail))
    ).first()


def pending_request(dag_id: str, logical_date: datetime) -> PendingRequest | None:
    """The run's approval request while it waits for an answer, else None."""
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        ti = _approval_ti(session, dag_id, logical_date)
        if ti is None or ti.state != TaskInstanceState.AWAITING_INPUT or ti.hitl_detail is None:
            return None
        detail = ti.hitl_detail
        if detail.responded_at is not None:
            return None
        return PendingRequest(
            run_id=ti.run_id,
            subject=detail.subject,
            body=detail.body or "",
            assignees=tuple(u["id"] for u in detail.assigned_users),
            response_deadline=ti.trigger_timeout,
        )


def resolve_timed_out(dag_id: str, logical_date: datetime) -> bool:
    """What the scheduler's awaiting-input sweep does for a request nobody answered in time."""
    from airflow._shared.timezones import timezone
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        ti = _approval_ti(session, dag_id, logical_date)
        if ti is None or ti.state != TaskInstanceState.AWAITING_INPUT:
            return False
        if ti.trigger_timeout is None or ti.trigger_timeout > timezone.utcnow():
            return False
        event = {"error": "no editor answered in time", "error_type": "timeout"}
        handle_event_submit(TriggerEvent(event), task_instance=ti, session=session)
    return True


def answer_as(dag_id: str, logical_date: datetime, user: str, approve: bool, comment: str) -> bool:
    """Record an answer given at the terminal, as the HITL REST API records a UI answer."""
    from airflow._shared.timezones import timezone
    from airflow.models.trigger import handle_event_submit
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        ti = _approval_ti(session, dag_id, logical_date)
        if ti is None or ti.state != TaskInstanceState.AWAITING_INPUT:
            return False
        detail = ti.hitl_detail
        if detail.responded_at is not None:
            return False  # the UI was quicker
        detail.responded_by = {"id": user, "name": f"os:{user}"}
        detail.responded_at = timezone.utcnow()
        detail.chosen_options = [ApprovalOperator.APPROVE if approve else ApprovalOperator.REJECT]
        detail.params_input = {COMMENT: comment}
        session.add(detail)
        handle_event_submit(
            TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
        )
    return True


def os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


class ApprovalWatch(threading.Thread):
    """Runs beside `dag.test()` for one month; see the module docstring."""

    def __init__(self, dag_id: str, logical_date: datetime, *, out: TextIO = sys.stderr):
        super().__init__(name="approval-watch", daemon=True)
        self.dag_id, self.logical_date, self.out = dag_id, logical_date, out
        self.done = threading.Event()
        self.shown = False

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)

    def run(self) -> None:
        while not self.done.wait(POLL_SECONDS):
            try:
                self.tick()
            except Exception as error:  # the run itself must not die of its watcher
                print(f"approval watch: {error!r}", file=self.out)

    def tick(self) -> None:
        request = pending_request(self.dag_id, self.logical_date)
        if request is None:
            return
        if not self.shown:
            self.show(request)
        if resolve_timed_out(self.dag_id, self.logical_date):
            return
        user = os_user()
        if user and user in request.assignees and sys.stdin.isatty():
            self.ask_terminal(request, user)

    def show(self, request: PendingRequest) -> None:
        self.shown = True
        print(wording("cli_pending.txt", request=request), file=self.out, flush=True)

    def ask_terminal(self, request: PendingRequest, user: str) -> None:
        print(wording("terminal_prompt.txt", request=request, user=user), end="", file=self.out,
              flush=True)  # fmt: skip
        ready, _, _ = select.select([sys.stdin], [], [], 30)
        if not ready:
            print("", file=self.out)
            return
        choice = sys.stdin.readline().strip().lower()
        if choice[:1] not in ("a", "r"):
            return
        print("comment: ", end="", file=self.out, flush=True)
        comment = sys.stdin.readline().strip()
        answer_as(self.dag_id, self.logical_date, user, choice.startswith("a"), comment)
