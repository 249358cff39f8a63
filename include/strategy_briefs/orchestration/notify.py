"""Notices to the operators' list, through the same SMTP connection as the briefs.

Every notice is first written to `audit.operator_notices` (time, run, task, reason), then
sent; one the mail server does not accept (the outage it may be about) is logged at ERROR
and stays there unsent. Two senders of the same one-line notice:
- `OperatorsNotifier`, the `on_failure_callback` of every task: Airflow calls it once,
  when a task has failed for good (not on each retry);
- `notify_delivery_deadline_missed`, the DAG's deadline alert (run by the triggerer) when
  a month's briefs are not delivered in time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from airflow.sdk import BaseNotifier

from strategy_briefs.config import Settings
from strategy_briefs.orchestration.environment import SMTP_CONN_ID
from strategy_briefs.warehouse import WarehouseParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OperatorNotice:
    run_id: str | None
    task_id: str | None  # None: about the whole run (the deadline alert)
    reason: str
    line: str  # what the operators read


def record_notice(params: WarehouseParams, notice: OperatorNotice) -> int:
    """Write the notice's row (its own transaction, before any sending); its notice_id."""
    from strategy_briefs import warehouse

    with warehouse.connect(params) as conn:
        row = conn.execute(
            "insert into audit.operator_notices (run_id, task_id, reason, line)"
            " values (%s, %s, %s, %s) returning notice_id",
            (notice.run_id, notice.task_id, notice.reason, notice.line),
        ).fetchone()
    assert row is not None
    return int(row[0])


def mark_notice(params: WarehouseParams, notice_id: int, outcome: str, sent: bool) -> None:
    from strategy_briefs import warehouse

    with warehouse.connect(params) as conn:
        conn.execute(
            "update audit.operator_notices set send_outcome = %s,"
            " sent_at = case when %s then now() end where notice_id = %s",
            (outcome, sent, notice_id),
        )


def notify_operators(notice: OperatorNotice, params: WarehouseParams | None = None) -> bool:
    """Record the notice, then send it; True when every operator's server accepted it.

    Never raises: a notice is what tells the operators something failed, so neither a
    warehouse nor a mail failure may hide the failure it reports (both go to ERROR).
    """
    notice_id = None
    try:
        params = params or _warehouse_params()
        notice_id = record_notice(params, notice)
    except Exception:
        log.error("could not record the operator notice, sending it anyway: %s", notice.line,
                  exc_info=True)  # fmt: skip
    try:
        statuses = send_operator_notice(notice.line)
        outcome = ", ".join(statuses) or "no operators listed"
    except Exception as error:  # a broken recipients file, an unusable SMTP connection
        statuses, outcome = [], one_line(f"not sent: {error!r}")
    sent = bool(statuses) and all(status == "accepted" for status in statuses)
    if not sent:
        log.error("operator notice NOT sent (%s); kept unsent in audit.operator_notices: %s",
                  outcome, notice.line)  # fmt: skip
    if notice_id is not None and params is not None:
        try:
            mark_notice(params, notice_id, outcome, sent)
        except Exception:
            log.error("could not mark operator notice %s as %s", notice_id, outcome,
                      exc_info=True)  # fmt: skip
    return sent


def _warehouse_params() -> WarehouseParams:
    from strategy_briefs.orchestration.tasks import warehouse_params

    return warehouse_params()  # the owner's connection: it applied the migrations


def one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def send_operator_notice(line: str) -> list[str]:
    """Email `line` to every operator; returns the SMTP outcome per operator."""
    from strategy_briefs.delivery import AirflowSmtpSender
    from strategy_briefs.delivery.message import build_operator_notice

    sender_address, operators, line = notice_addresses(line)
    message = build_operator_notice(sender_address, operators, line)
    outcomes = []
    with AirflowSmtpSender(SMTP_CONN_ID) as sender:
        for operator in operators:
            outcome = sender.send(message, operator)
            log.info("operator notice to %s: %s", operator, outcome.status)
            outcomes.append(outcome.status)
    return outcomes


def notice_addresses(line: str) -> tuple[str, tuple[str, ...], str]:
    """(sender, operators, line) from the recipients file; when the file is broken, from
    STRATEGY_BRIEFS_FALLBACK_OPERATORS (its first address sends), the line saying why.
    Raises the file's `RecipientsError` when there is no fallback either."""
    from strategy_briefs.delivery.recipients import RecipientsError, load_recipients

    settings = Settings.from_env()
    try:
        recipients = load_recipients(settings.recipients_file)
    except RecipientsError as broken:
        if not settings.fallback_operators:
            raise
        log.error("recipients file unusable, notice goes to STRATEGY_BRIEFS_FALLBACK_OPERATORS:"
                  " %s", one_line(broken))  # fmt: skip
        line = one_line(f"{line}; the recipients file is broken too: {broken.problems[0]}")
        return settings.fallback_operators[0], settings.fallback_operators, line
    return recipients.sender, recipients.operators, line


def still_missing(period: str) -> str | None:
    """'still missing for 2020-07: credit_card (银行卡业务部)', or None when nothing is."""
    from strategy_briefs.catalogue import load_catalogue
    from strategy_briefs.orchestration.tasks import submissions_waiting

    waiting = submissions_waiting(period)
    if not waiting:
        return None
    lobs = load_catalogue(Settings.from_env().seeds_dir).lines_of_business
    named = ", ".join(f"{code} ({lobs[code].department_zh})" for code in waiting)
    return f"still missing for {period}: {named}"


class OperatorsNotifier(BaseNotifier):
    """Emails the operators one line naming the run, the task and the reason."""

    template_fields = ()

    def notify(self, context) -> None:
        ti = context.get("ti") or context.get("task_instance")
        run_id = context.get("run_id", "?")
        task_id = getattr(ti, "task_id", "?")
        reason = one_line(context.get("exception") or context.get("reason") or "failed")
        if task_id.endswith("wait_for_submissions"):
            # Airflow's timeout says only that time ran out: name who the operators chase.
            try:
                missing = still_missing(ti.xcom_pull(task_ids="resolve_period"))
            except Exception:  # the notice goes out regardless
                log.exception("could not list the missing submissions")
                missing = None
            if missing:
                reason = f"{missing}; {reason}"
        line = f"strategy_briefs_monthly {run_id}: {task_id} failed: {reason}"
        notify_operators(OperatorNotice(run_id, task_id, reason, line))


async def notify_delivery_deadline_missed(context: dict | None = None, **kwargs) -> None:
    """Deadline alert: the month's briefs were not delivered by the configured day."""
    import asyncio

    dag_run = (context or {}).get("dag_run")
    run_id = getattr(dag_run, "run_id", None) or (context or {}).get("run_id", "?")
    days = kwargs.get("deadline_days", "?")
    line = (
        f"strategy_briefs_monthly {run_id}: briefs not delivered within {days} day(s) of the "
        "scheduled run; check the run in the Airflow UI"
    )
    reason = f"briefs not delivered within {days} day(s) of the scheduled run"
    await asyncio.to_thread(notify_operators, OperatorNotice(run_id, None, reason, line))
