"""Email delivery of the briefs: recipients, messages, ledger, sending, gate, archive.

Imports stay light: Airflow is imported only when `AirflowSmtpSender` first connects. The
demo's loopback SMTP sink is not here: it is `strategy_briefs_demo.sink` (demo/).
"""

from strategy_briefs.delivery.gate import GateResult, check_gate
from strategy_briefs.delivery.models import SmtpOutcome
from strategy_briefs.delivery.recipients import Recipients, RecipientsError, load_recipients
from strategy_briefs.delivery.send import (
    AirflowSmtpSender,
    DeliveryError,
    DeliveryReport,
    EditionConflict,
    Sender,
    deliver,
    reconcile_with_mailbox,
)

__all__ = [
    "AirflowSmtpSender",
    "DeliveryError",
    "DeliveryReport",
    "EditionConflict",
    "GateResult",
    "Recipients",
    "RecipientsError",
    "Sender",
    "SmtpOutcome",
    "check_gate",
    "deliver",
    "load_recipients",
    "reconcile_with_mailbox",
]
