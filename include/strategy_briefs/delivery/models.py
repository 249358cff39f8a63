"""Small value types shared by the delivery modules (no heavy imports).

A brief to send is the renderer's own `briefs.rendered.RenderedBrief`, as the render task
handed it on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OutcomeStatus = Literal["accepted", "rejected", "failed", "unknown"]


@dataclass(frozen=True)
class SmtpOutcome:
    """What the SMTP server said about one message to one recipient.

    status: accepted (250 after DATA), rejected (permanent 5xx), failed (nothing was
    accepted: temporary 4xx, connection refused or lost before the end of DATA),
    unknown (the connection broke after the whole message was handed over, before the
    server's reply: it may or may not have been accepted).
    `server_unreachable` tells the caller to stop trying further recipients for now.
    """

    status: OutcomeStatus
    code: int | None
    response: str
    server_unreachable: bool = False
