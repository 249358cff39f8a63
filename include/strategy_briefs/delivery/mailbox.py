"""Saved mail as evidence: the `.eml` files of a mailbox folder, one per recipient.

A folder of `.eml` files, each starting with the `Delivered-To:` line a mail server's local
delivery writes (the demo's loopback sink writes them so, and a mailbox export can), shows
which messages reached whom; `delivery.send.reconcile_with_mailbox` settles 'unknown'
ledger rows from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path


@dataclass(frozen=True)
class ReceivedMessage:
    path: Path
    delivered_to: str
    message: EmailMessage


def read_mailbox(out_dir: Path) -> list[ReceivedMessage]:
    """Every `.eml` in `out_dir`, oldest first (the sink's names sort by arrival)."""
    received = []
    for path in sorted(Path(out_dir).glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        received.append(ReceivedMessage(path, str(message["Delivered-To"]).lower(), message))
    return received
