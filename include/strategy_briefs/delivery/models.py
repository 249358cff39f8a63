"""Small value types shared by the delivery modules (no heavy imports).

A brief to send is the renderer's own `briefs.rendered.RenderedBrief`, as the render task
handed it on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

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


def parse_period(period: str) -> date:
    """'YYYY-MM' -> first day of that month (the warehouse's period type)."""
    match = _PERIOD_RE.match(period)
    if not match:
        raise ValueError(f"period must look like YYYY-MM, got {period!r}")
    return date(int(match[1]), int(match[2]), 1)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
