"""Send the month's briefs exactly once per (brief, edition, recipient), recorded in the ledger.

`deliver()` protocol, per brief and recipient (see docs/delivery.md):
1. hold the month's advisory lock (two deliveries of one month never overlap);
2. intents left without an outcome by a killed process become 'unknown' and are NOT resent
   until an operator decides (`ledger.resolve_unknown` or `reconcile_with_mailbox`);
3. archive the PDF (immutable) and send those archived bytes;
4. commit the intent, run one SMTP transaction, commit the outcome;
5. skip recipients already accepted in the current edition; a re-run sends nothing new;
6. raise `DeliveryError` (after everything is recorded) when any recipient is not accepted,
   so the Airflow task fails and retries.
"""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import parseaddr
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

from strategy_briefs import warehouse
from strategy_briefs.briefs.rendered import RenderedBrief
from strategy_briefs.delivery import archive, ledger
from strategy_briefs.delivery.approval import Approval, require_approval
from strategy_briefs.delivery.message import build_message, message_id_for
from strategy_briefs.delivery.models import SmtpOutcome
from strategy_briefs.delivery.recipients import Recipients
from strategy_briefs.hashing import file_sha256
from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams

log = logging.getLogger(__name__)

# Page 1 in the mail: sharp on a phone's 2x screen at 400 CSS px, ~170 KB for a full page.
MAIL_PAGE_WIDTH_PX = 800


class Sender(Protocol):
    """Hands one message to a mail server for one envelope recipient."""

    def send(self, msg: EmailMessage, recipient: str) -> SmtpOutcome: ...


class DeliveryError(RuntimeError):
    """Some recipients were not accepted; raised after every outcome is recorded."""

    def __init__(self, report: DeliveryReport):
        self.report = report
        super().__init__(report.summary())


class EditionConflict(RuntimeError):
    """The PDF offered differs from the one this edition was already sent with."""


# --- SMTP ------------------------------------------------------------------------------


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent on the wire (CRLF line ends, as smtplib.send_message does)."""
    buffer = BytesIO()
    BytesGenerator(buffer, policy=msg.policy.clone(linesep="\r\n")).flatten(msg)
    return buffer.getvalue()


def _classify(code: int, response: bytes | str) -> SmtpOutcome:
    text = response.decode("utf-8", "replace") if isinstance(response, bytes) else response
    status = "rejected" if 500 <= code < 600 else "failed"
    return SmtpOutcome(status, code, text)


def smtp_transaction(
    client: smtplib.SMTP, envelope_from: str, recipient: str, data: bytes
) -> SmtpOutcome:
    """MAIL/RCPT/DATA for one recipient, classifying every way it can end.

    Written out (instead of `sendmail`) to keep the final DATA reply (the server's queue
    id, useful to find the message in its log) and to know exactly when a broken
    connection is ambiguous: only after the whole message, with its final dot, was handed
    to the socket.
    """
    try:
        client.ehlo_or_helo_if_needed()
        code, response = client.mail(envelope_from)
        if code != 250:
            client.rset()
            return _classify(code, response)
        code, response = client.rcpt(recipient)
        if code not in (250, 251):
            client.rset()
            return _classify(code, response)
        code, response = client.docmd("data")
        if code != 354:
            client.rset()
            return _classify(code, response)
        # Same transformation as smtplib.SMTP.data: CRLF line ends, dot-stuffing, final dot.
        payload = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data)
        payload = re.sub(rb"(?m)^\.", b"..", payload)
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        client.send(payload + b".\r\n")
    except (smtplib.SMTPException, OSError) as exc:
        return SmtpOutcome("failed", None, f"before end of DATA: {exc!r}", server_unreachable=True)
    try:
        code, response = client.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        return SmtpOutcome(
            "unknown", None, f"no reply after DATA: {exc!r}", server_unreachable=True
        )
    if code == 250:
        return SmtpOutcome("accepted", code, response.decode("utf-8", "replace"))
    return _classify(code, response)


class AirflowSmtpSender:
    """Sends through the Airflow SMTP provider's connection (`AIRFLOW_CONN_SMTP_DEFAULT`).

    The hook opens and authenticates the connection exactly as the provider does: SMTP over
    TLS unless the connection's extra says `disable_ssl`, STARTTLS unless `disable_tls`,
    certificates verified (`ssl.create_default_context()`) unless `ssl_context` is "none".
    The transaction itself is ours (`smtp_transaction`): the hook's `send_email_smtp` builds
    its own MIME message (no RFC 2047 `name=` fallback, no custom Message-ID) and retries
    the whole `sendmail` up to `retry_limit` times, which can duplicate a message.
    Envelope sender: `envelope_from`, else the connection's `from_email`, else the From header.
    """

    def __init__(self, conn_id: str = "smtp_default", *, envelope_from: str | None = None):
        self.conn_id = conn_id
        self.envelope_from = envelope_from
        self._hook: Any = None

    def _client(self) -> smtplib.SMTP:
        if self._hook is None:
            from airflow.providers.smtp.hooks.smtp import SmtpHook

            hook = SmtpHook(smtp_conn_id=self.conn_id)
            hook.get_conn()
            self._hook = hook
        # SmtpHook keeps the authenticated smtplib client here and has no public accessor.
        return self._hook._smtp_client

    def send(self, msg: EmailMessage, recipient: str) -> SmtpOutcome:
        try:
            client = self._client()
        except Exception as exc:  # the hook raises AirflowException or OSError variants
            self.close()
            return SmtpOutcome("failed", None, f"cannot connect: {exc!r}", server_unreachable=True)
        envelope_from = (
            self.envelope_from or self._hook.from_email or parseaddr(str(msg["From"]))[1]
        )
        outcome = smtp_transaction(client, envelope_from, recipient, message_bytes(msg))
        if outcome.server_unreachable:
            self.close()  # reconnect on the next send
        return outcome

    def close(self) -> None:
        hook, self._hook = self._hook, None
        client = getattr(hook, "_smtp_client", None) if hook else None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
            hook._smtp_client = None

    def __enter__(self) -> AirflowSmtpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- delivery --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientResult:
    brief_id: str
    edition: int
    recipient: str
    message_id: str
    # accepted (this run) | already_accepted | rejected | failed | unknown | not_attempted
    result: str
    smtp_response: str | None = None


@dataclass
class DeliveryReport:
    period: str
    editions: dict[str, int]
    results: list[RecipientResult] = field(default_factory=list)
    manifest_path: Path | None = None

    def with_result(self, result: str) -> list[RecipientResult]:
        return [r for r in self.results if r.result == result]

    @property
    def sent(self) -> list[RecipientResult]:
        return self.with_result("accepted")

    @property
    def problems(self) -> list[RecipientResult]:
        return [r for r in self.results if r.result not in ("accepted", "already_accepted")]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.result] = counts.get(r.result, 0) + 1
        text = f"delivery {self.period}: " + ", ".join(
            f"{k}={v}" for k, v in sorted(counts.items())
        )
        if self.problems:
            text += "; not accepted: " + ", ".join(
                f"{r.brief_id}/e{r.edition}/{r.recipient} ({r.result}: {r.smtp_response})"
                for r in self.problems
            )
        unknown = self.with_result("unknown")
        if unknown:
            text += (
                "; 'unknown' needs an operator: check the mail server log for the Message-ID, "
                "then ledger.resolve_unknown(decision='accepted'|'resend')"
            )
        return text


@dataclass(frozen=True)
class _Plan:
    brief: RenderedBrief
    edition: int
    reissue_reason: str | None
    archived: archive.ArchivedPdf
    approval: Approval | None


def _plan_edition(conn, period: str, brief: RenderedBrief, sha: str, reason: str | None):
    """(edition, reissue_reason) for this run, or EditionConflict."""
    latest = ledger.latest_edition(conn, period, brief.brief_id)
    if reason:
        # A retry of the same re-issue (Airflow retries reuse the params) continues it.
        if latest is not None and latest.reissue_reason == reason:
            if latest.pdf_sha256 != sha:
                raise EditionConflict(
                    f"{brief.brief_id} {period}: re-issue {latest.edition} ({reason!r}) was sent "
                    "with another PDF; give a new reason to send another correction"
                )
            return latest.edition, reason
        return (latest.edition if latest else 0) + 1, reason
    if latest is None:
        return 1, None
    if latest.pdf_sha256 != sha:
        raise EditionConflict(
            f"{brief.brief_id} {period}: the PDF differs from edition {latest.edition} already "
            f"sent (sha256 {latest.pdf_sha256[:12]}…, now {sha[:12]}…); nothing sent. To send "
            "the new content, re-issue it with force_reissue and a reason (and, when naming "
            "the briefs to re-issue, name this one)"
        )
    return latest.edition, latest.reissue_reason


def deliver(
    params: WarehouseParams,
    period: str,
    briefs: list[RenderedBrief],
    recipients: Recipients,
    sender: Sender,
    *,
    archive_root: Path,
    force_reissue_reason: str | None = None,
    reissue_brief_ids: frozenset[str] | None = None,
    approval: Approval | None = None,
) -> DeliveryReport:
    """Send each brief to its distribution list once; see the module docstring.

    A re-issue (`force_reissue_reason`) opens a new edition of the briefs in
    `reissue_brief_ids` (None: every brief); the others are delivered as on any run.
    With an `approval`, only the PDFs it names are sent (`NotApproved` otherwise) and every
    ledger row and manifest edition records it.
    """
    Period.parse(period)
    if force_reissue_reason is not None and not force_reissue_reason.strip():
        raise ValueError("force_reissue_reason must say why the brief is re-issued")
    reason = force_reissue_reason.strip() if force_reissue_reason else None
    for brief in briefs:  # fail on a missing list before anything is sent
        recipients.for_brief(brief.brief_id)

    with warehouse.connect(params, autocommit=True) as conn, ledger.period_lock(conn, period):
        stale = ledger.mark_stale_intents_unknown(conn, period)
        for row in stale:
            log.warning(
                "%s %s e%s %s: intent without outcome -> unknown (Message-ID %s)",
                period, row.brief_id, row.edition, row.recipient, row.message_id,
            )  # fmt: skip

        plans: list[_Plan] = []
        for brief in briefs:  # decide and archive every edition before the first send
            sha = file_sha256(brief.path)
            if approval is not None:
                require_approval(approval, period, {brief.brief_id: sha})
            reissued = reissue_brief_ids is None or brief.brief_id in reissue_brief_ids
            edition, edition_reason = _plan_edition(
                conn, period, brief, sha, reason if reissued else None
            )
            archived = archive.archive_pdf(
                archive_root, period, brief.brief_id, edition, brief.path
            )
            plans.append(_Plan(brief, edition, edition_reason, archived, approval))

        report = DeliveryReport(period, {p.brief.brief_id: p.edition for p in plans})
        server_unreachable = False
        for plan in plans:
            server_unreachable = _send_plan(
                conn, period, plan, recipients, sender, report, server_unreachable
            )
        report.manifest_path = archive.write_manifest(
            archive_root,
            period,
            (_manifest_entry(p) for p in plans),
            ledger.period_rows(conn, period),
        )
    log.info(report.summary())
    if not report.ok:
        raise DeliveryError(report)
    return report


def _send_plan(
    conn,
    period: str,
    plan: _Plan,
    recipients: Recipients,
    sender: Sender,
    report: DeliveryReport,
    server_unreachable: bool,
) -> bool:
    """Send one edition to every recipient not yet accepted; True once the server is gone."""
    from strategy_briefs.briefs.render import first_page_png

    brief, edition = plan.brief, plan.edition
    pdf_bytes = plan.archived.path.read_bytes()
    page_png = first_page_png(plan.archived.path, MAIL_PAGE_WIDTH_PX)  # of the archived bytes
    rows = ledger.edition_rows(conn, period, brief.brief_id, edition)
    for recipient in recipients.for_brief(brief.brief_id):
        row = rows.get(recipient)
        # Keep the id of an earlier attempt: a resend must carry the same Message-ID.
        message_id = (
            row.message_id
            if row
            else message_id_for(
                period, brief.brief_id, edition, recipient, recipients.sender_domain
            )
        )

        def note(result: str, response: str | None, recipient=recipient, message_id=message_id):
            report.results.append(
                RecipientResult(brief.brief_id, edition, recipient, message_id, result, response)
            )

        if row is not None and row.status == "accepted":
            note("already_accepted", row.smtp_response)
            continue
        if row is not None and row.status in ("unknown", "intent"):
            note("unknown", row.smtp_response)
            continue
        if server_unreachable:
            note("not_attempted", "mail server unreachable earlier in this run")
            continue
        armed = ledger.record_intent(
            conn,
            period=period,
            brief_id=brief.brief_id,
            edition=edition,
            recipient=recipient,
            pdf_sha256=plan.archived.sha256,
            message_id=message_id,
            reissue_reason=plan.reissue_reason,
            approval_id=plan.approval.approval_id if plan.approval else None,
        )
        if not armed:  # cannot happen under the period lock; never send on doubt
            note("unknown", "ledger row changed under the period lock; not sent")
            continue
        msg = build_message(
            brief,
            period=period,
            edition=edition,
            recipient=recipient,
            sender=recipients.sender,
            pdf_bytes=pdf_bytes,
            page_png=page_png,
            reissue_reason=plan.reissue_reason,
            message_id=message_id,
        )
        outcome = sender.send(msg, recipient)
        ledger.record_outcome(
            conn,
            period=period,
            brief_id=brief.brief_id,
            edition=edition,
            recipient=recipient,
            outcome=outcome,
        )
        response = f"{outcome.code} {outcome.response}" if outcome.code else outcome.response
        note(outcome.status, response)
        server_unreachable = outcome.server_unreachable
    return server_unreachable


def _manifest_entry(plan: _Plan) -> dict[str, Any]:
    return {
        "brief_id": plan.brief.brief_id,
        "edition": plan.edition,
        "title_zh": plan.brief.title_zh,
        "pdf_file": plan.archived.path.name,
        "pdf_sha256": plan.archived.sha256,
        "trace_file": plan.archived.trace_path.name if plan.archived.trace_path else None,
        "data_snapshot_sha256": plan.brief.data_snapshot_sha256,
        "template_version": plan.brief.template_version,
        "reissue_reason": plan.reissue_reason,
        "approval": plan.approval.manifest_entry() if plan.approval else None,
    }


def reconcile_with_mailbox(params: WarehouseParams, period: str, eml_dir: Path) -> list[str]:
    """Resolve 'unknown' rows from evidence: a saved `.eml` (the demo sink, or messages
    exported from a mailbox) with the row's Message-ID and `Delivered-To` recipient proves
    the server accepted it. Returns the Message-IDs resolved as accepted; rows without
    evidence stay 'unknown' for an operator.
    """
    from strategy_briefs.delivery.mailbox import read_mailbox

    delivered = {(str(m.message["Message-ID"]).strip(), m.delivered_to): m.path
                 for m in read_mailbox(eml_dir)}  # fmt: skip
    resolved = []
    for row in ledger.ledger_rows(params, period):
        path = delivered.get((row.message_id, row.recipient))
        if row.status == "unknown" and path is not None:
            ledger.resolve_unknown(
                params,
                period=period,
                brief_id=row.brief_id,
                edition=row.edition,
                recipient=row.recipient,
                decision="accepted",
                note=f"found in mailbox: {path.name}",
            )
            resolved.append(row.message_id)
    return resolved
