"""Notices to the operators' list, through the same SMTP connection as the briefs.

Two senders of the same one-line notice:
- `OperatorsNotifier`, the `on_failure_callback` of every task: Airflow calls it once,
  when a task has failed for good (not on each retry);
- `notify_delivery_deadline_missed`, the DAG's deadline alert (run by the triggerer) when
  a month's briefs are not delivered in time.
"""

from __future__ import annotations

import logging

from airflow.sdk import BaseNotifier

from strategy_briefs.config import Settings
from strategy_briefs.orchestration.environment import SMTP_CONN_ID

log = logging.getLogger(__name__)


def one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def send_operator_notice(line: str) -> list[str]:
    """Email `line` to every operator; returns the SMTP outcome per operator."""
    from strategy_briefs.delivery import AirflowSmtpSender, load_recipients
    from strategy_briefs.delivery.message import build_operator_notice

    recipients = load_recipients(Settings.from_env().recipients_file)
    message = build_operator_notice(recipients.sender, recipients.operators, line)
    outcomes = []
    with AirflowSmtpSender(SMTP_CONN_ID) as sender:
        for operator in recipients.operators:
            outcome = sender.send(message, operator)
            log.info("operator notice to %s: %s", operator, outcome.status)
            outcomes.append(outcome.status)
    return outcomes


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
        send_operator_notice(f"strategy_briefs_monthly {run_id}: {task_id} failed: {reason}")


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
    await asyncio.to_thread(send_operator_notice, line)
