"""Failure notices to the operators' list, through the same SMTP connection as the briefs."""

from __future__ import annotations

import logging

from airflow.sdk import BaseNotifier

from strategy_briefs.config import Settings
from strategy_briefs.orchestration.environment import SMTP_CONN_ID

log = logging.getLogger(__name__)


def one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class OperatorsNotifier(BaseNotifier):
    """Emails the operators one line naming the run, the task and the reason.

    Used as `on_failure_callback`: Airflow calls it once, when a task has failed for good
    (not on each retry).
    """

    template_fields = ()

    def notify(self, context) -> None:
        from strategy_briefs.delivery import AirflowSmtpSender, load_recipients
        from strategy_briefs.delivery.message import build_operator_notice

        ti = context.get("ti") or context.get("task_instance")
        run_id = context.get("run_id", "?")
        task_id = getattr(ti, "task_id", "?")
        reason = one_line(context.get("exception") or context.get("reason") or "failed")
        line = f"strategy_briefs_monthly {run_id}: {task_id} failed: {reason}"
        recipients = load_recipients(Settings.from_env().recipients_file)
        message = build_operator_notice(recipients.sender, recipients.operators, line)
        with AirflowSmtpSender(SMTP_CONN_ID) as sender:
            for operator in recipients.operators:
                outcome = sender.send(message, operator)
                log.info("operator notice to %s: %s", operator, outcome.status)
