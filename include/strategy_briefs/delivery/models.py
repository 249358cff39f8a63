"""Small value types shared by the delivery modules (no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from strategy_briefs.briefs.context import HeadlineLine

OutcomeStatus = Literal["accepted", "rejected", "failed", "unknown"]


@dataclass(frozen=True)
class BriefToSend:
    """One rendered brief to deliver (the DAG adapts the renderer's `RenderedBrief` to this).

    `headline_lines` (each article's lead sentence) and `demo_notice` (what ＊ means, as the
    PDF says it) go into the mail's body; `data_snapshot_sha256` (see
    `archive.snapshot_hash`) and `template_version` only go into the archive manifest.
    """

    brief_id: str
    title_zh: str
    path: Path
    headline_lines: tuple[HeadlineLine, ...] = ()
    demo_notice: str | None = None
    data_snapshot_sha256: str | None = None
    template_version: str | None = None


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
