"""`delivery.ledger`: what was sent to whom, one row per (period, brief, edition, recipient).

All writes happen on an autocommit connection so each step is durable on its own:
the intent is committed before the SMTP transaction starts, the outcome right after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from strategy_briefs.delivery.models import SmtpOutcome
from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams

LedgerStatus = Literal["intent", "accepted", "rejected", "failed", "unknown"]
# Statuses that must never be sent again without an operator's decision.
FINAL_OR_AMBIGUOUS = ("accepted", "intent", "unknown")


class DeliveryBusy(RuntimeError):
    """Another process is delivering this month right now."""


@dataclass(frozen=True)
class LedgerRow:
    period: date
    brief_id: str
    edition: int
    recipient: str
    pdf_sha256: str
    status: LedgerStatus
    message_id: str
    smtp_response: str | None
    attempts: int
    intent_at: datetime
    sent_at: datetime | None
    reissue_reason: str | None
    approval_id: int | None = None  # delivery.approvals row the send was authorised by


@dataclass(frozen=True)
class EditionInfo:
    edition: int
    pdf_sha256: str
    reissue_reason: str | None


_COLUMNS = (
    "period, brief_id, edition, recipient, pdf_sha256, status, message_id, smtp_response, "
    "attempts, intent_at, sent_at, reissue_reason, approval_id"
)


def _row(record) -> LedgerRow:
    return LedgerRow(*record)


@contextmanager
def period_lock(conn, period: str) -> Iterator[None]:
    """Hold a session advisory lock for one month; released on exit or if the process dies."""
    key = f"strategy_briefs.delivery:{period}"
    locked = conn.execute("select pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]
    if not locked:
        raise DeliveryBusy(f"another delivery for {period} is running; retry later")
    try:
        yield
    finally:
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (key,))


def latest_edition(conn, period: str, brief_id: str) -> EditionInfo | None:
    record = conn.execute(
        """
        select edition, min(pdf_sha256), max(pdf_sha256), min(reissue_reason)
        from delivery.ledger where period = %s and brief_id = %s
        group by edition order by edition desc limit 1
        """,
        (Period.parse(period).first_day, brief_id),
    ).fetchone()
    if record is None:
        return None
    edition, sha_min, sha_max, reason = record
    if sha_min != sha_max:  # cannot happen through deliver(); refuse to guess
        raise RuntimeError(f"ledger: {period} {brief_id} edition {edition} holds two PDF hashes")
    return EditionInfo(edition, sha_min, reason)


def edition_rows(conn, period: str, brief_id: str, edition: int) -> dict[str, LedgerRow]:
    records = conn.execute(
        f"select {_COLUMNS} from delivery.ledger "
        "where period = %s and brief_id = %s and edition = %s",
        (Period.parse(period).first_day, brief_id, edition),
    ).fetchall()
    return {r[3]: _row(r) for r in records}


def period_rows(conn, period: str) -> list[LedgerRow]:
    records = conn.execute(
        f"select {_COLUMNS} from delivery.ledger where period = %s "
        "order by brief_id, edition, recipient",
        (Period.parse(period).first_day,),
    ).fetchall()
    return [_row(r) for r in records]


def record_intent(
    conn,
    *,
    period: str,
    brief_id: str,
    edition: int,
    recipient: str,
    pdf_sha256: str,
    message_id: str,
    reissue_reason: str | None,
    approval_id: int | None = None,
) -> bool:
    """Write (or re-arm after a failure) the intent to send. False when the row is accepted,
    already in flight or unknown: then the caller must not send."""
    record = conn.execute(
        """
        insert into delivery.ledger as l
            (period, brief_id, edition, recipient, pdf_sha256, status, message_id,
             reissue_reason, approval_id)
        values (%s, %s, %s, %s, %s, 'intent', %s, %s, %s)
        on conflict (period, brief_id, edition, recipient) do update
            set status = 'intent', attempts = l.attempts + 1, intent_at = now(),
                smtp_response = null, updated_at = now(),
                approval_id = coalesce(excluded.approval_id, l.approval_id)
            where l.status in ('rejected', 'failed') and l.pdf_sha256 = excluded.pdf_sha256
        returning 1
        """,
        (
            Period.parse(period).first_day,
            brief_id,
            edition,
            recipient,
            pdf_sha256,
            message_id,
            reissue_reason,
            approval_id,
        ),
    ).fetchone()
    return record is not None


def record_outcome(
    conn, *, period: str, brief_id: str, edition: int, recipient: str, outcome: SmtpOutcome
) -> None:
    response = f"{outcome.code} {outcome.response}" if outcome.code else outcome.response
    conn.execute(
        """
        update delivery.ledger
        set status = %s, smtp_response = %s, updated_at = now(),
            sent_at = case when %s = 'accepted' then now() else sent_at end
        where period = %s and brief_id = %s and edition = %s and recipient = %s
          and status = 'intent'
        """,
        (
            outcome.status,
            response[:2000],
            outcome.status,
            Period.parse(period).first_day,
            brief_id,
            edition,
            recipient,
        ),
    )


def mark_stale_intents_unknown(conn, period: str) -> list[LedgerRow]:
    """Intents without an outcome (a process died mid-send) become 'unknown'.

    Only call while holding `period_lock`: then no live process owns an intent of this month.
    """
    records = conn.execute(
        f"""
        update delivery.ledger
        set status = 'unknown', updated_at = now(),
            smtp_response = 'no outcome recorded: the sending process stopped after writing '
                            'its intent; check the mail server log for the Message-ID'
        where period = %s and status = 'intent'
        returning {_COLUMNS}
        """,
        (Period.parse(period).first_day,),
    ).fetchall()
    return [_row(r) for r in records]


def resolve_unknown(
    params: WarehouseParams,
    *,
    period: str,
    brief_id: str,
    edition: int,
    recipient: str,
    decision: Literal["accepted", "resend"],
    note: str,
) -> None:
    """An operator's decision for an 'unknown' row.

    accepted: the mail server log or the mailbox shows the Message-ID arrived; never resend.
    resend: it did not arrive; the next delivery sends it again with the same Message-ID.
    """
    from strategy_briefs import warehouse

    if decision not in ("accepted", "resend"):
        raise ValueError(f"decision must be 'accepted' or 'resend', got {decision!r}")
    status = "accepted" if decision == "accepted" else "failed"
    with warehouse.connect(params, autocommit=True) as conn:
        updated = conn.execute(
            """
            update delivery.ledger
            set status = %s, smtp_response = %s, updated_at = now(),
                sent_at = case when %s = 'accepted' then coalesce(sent_at, now()) else sent_at end
            where period = %s and brief_id = %s and edition = %s and recipient = %s
              and status = 'unknown'
            returning 1
            """,
            (
                status,
                f"operator decision: {decision}: {note}",
                status,
                Period.parse(period).first_day,
                brief_id,
                edition,
                recipient,
            ),
        ).fetchone()
    if updated is None:
        raise LookupError(
            f"no 'unknown' ledger row for {period} {brief_id} edition {edition} {recipient}"
        )


def ledger_rows(params: WarehouseParams, period: str) -> list[LedgerRow]:
    """Every ledger row of a month (for reports, the archive manifest and tests)."""
    from strategy_briefs import warehouse

    with warehouse.connect(params) as conn:
        return period_rows(conn, period)
