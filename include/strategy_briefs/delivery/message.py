"""Build the email for one brief and one recipient.

Compatibility choices (checked on the raw bytes by tests/delivery/test_message.py):
- Subject and display names: RFC 2047 encoded words, produced by the `email` policy.
- The PDF's Chinese file name twice: `filename*=utf-8''...` (RFC 2231, one parameter, no
  continuations) on Content-Disposition for standards-following clients, and
  `name="=?utf-8?b?...?="` (RFC 2047 words) on Content-Type, which Outlook and QQ Mail read.
  Those two header values are written verbatim (`set_raw` + `refold_source='none'`) so the
  policy cannot re-encode or split them.
- Bodies in base64 so the whole message is 7-bit ASCII and needs no 8BITMIME/SMTPUTF8.
- Message-ID derived from (period, brief, edition, recipient): a resend of the same message
  carries the same id, which servers, archives and some clients use to de-duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from email import policy
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from urllib.parse import quote

from strategy_briefs.delivery.models import BriefToSend
from strategy_briefs.delivery.recipients import parse_mailbox

CORRECTION_MARK = "更正版"
# SMTP policy (CRLF, 78-column folding) but leave our pre-built raw headers untouched.
MESSAGE_POLICY = policy.SMTP.clone(refold_source="none")
_UNSAFE_FILENAME_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RFC2231_SAFE = "!#$&+-.^_`|~"


def message_id_for(period: str, brief_id: str, edition: int, recipient: str, domain: str) -> str:
    """Stable Message-ID; the recipient is hashed so the id does not spell out the address."""
    recipient_hash = hashlib.sha256(recipient.lower().encode("utf-8")).hexdigest()[:16]
    return f"<strategy-briefs.{period}.{brief_id}.e{edition}.{recipient_hash}@{domain}>"


def subject_for(title_zh: str, reissue_reason: str | None) -> str:
    return f"【{CORRECTION_MARK}】{title_zh}" if reissue_reason else title_zh


def attachment_filename(title_zh: str, reissue_reason: str | None) -> str:
    stem = _UNSAFE_FILENAME_CHARS.sub("_", title_zh).strip() or "brief"
    return f"{stem}（{CORRECTION_MARK}）.pdf" if reissue_reason else f"{stem}.pdf"


def rfc2047_words(text: str) -> list[str]:
    """`text` as base64 encoded words of at most 75 characters, split between characters."""
    words: list[str] = []
    chunk = ""
    for char in text:
        # 45 bytes -> 60 base64 chars + 12 for '=?utf-8?b?' and '?=' = 72 <= 75
        if len((chunk + char).encode("utf-8")) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk:
        words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words]


def rfc2231_value(text: str) -> str:
    return "utf-8''" + quote(text, safe=_RFC2231_SAFE)


def pdf_attachment(pdf_bytes: bytes, filename: str) -> MIMEPart:
    part = MIMEPart(policy=MESSAGE_POLICY)
    part.set_content(pdf_bytes, maintype="application", subtype="pdf", cte="base64")
    del part["Content-Type"]
    part.set_raw("Content-Type", f'application/pdf;\r\n name="{" ".join(rfc2047_words(filename))}"')
    part.set_raw("Content-Disposition", f"attachment;\r\n filename*={rfc2231_value(filename)}")
    return part


def _bodies(
    brief: BriefToSend, period: str, reissue_reason: str | None, filename: str
) -> tuple[str, str]:
    intro = f"附件为《{brief.title_zh}》（{period}）。"
    correction = (
        f"本版为{CORRECTION_MARK}，更正原因：{reissue_reason}。请以本版为准，此前版本作废。"
        if reissue_reason
        else ""
    )
    footer = "本邮件由战略简报系统自动发送，请勿直接回复。"
    headline_title = "本月要点："
    plain = ["各位领导：", "", intro]
    if correction:
        plain += ["", correction]
    if brief.headline_lines:
        plain += ["", headline_title] + [f"  • {line}" for line in brief.headline_lines]
    plain += ["", f"附件：{filename}", "", footer, ""]

    esc = html.escape
    items = "".join(f"<li>{esc(line)}</li>" for line in brief.headline_lines)
    parts = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head>',
        "<body style=\"font-family: 'PingFang SC', 'Microsoft YaHei', sans-serif;\">",
        "<p>各位领导：</p>",
        f"<p>{esc(intro)}</p>",
    ]
    if correction:
        parts.append(f'<p style="color:#b00000;"><strong>{esc(correction)}</strong></p>')
    if items:
        parts.append(f"<p>{headline_title}</p><ul>{items}</ul>")
    parts += [
        f"<p>附件：{esc(filename)}</p>",
        f'<p style="color:#666666;font-size:12px;">{footer}</p>',
        "</body></html>",
    ]
    return "\n".join(plain), "\n".join(parts) + "\n"


def build_message(
    brief: BriefToSend,
    *,
    period: str,
    edition: int,
    recipient: str,
    sender: str,
    pdf_bytes: bytes,
    reissue_reason: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """The email for one (brief, edition, recipient); `pdf_bytes` is the archived PDF."""
    sender_mailbox = parse_mailbox(sender)  # refuses CRLF and a second address
    if message_id is None:
        domain = sender_mailbox.address.rsplit("@", 1)[1]
        message_id = message_id_for(period, brief.brief_id, edition, recipient, domain)
    filename = attachment_filename(brief.title_zh, reissue_reason)
    plain, html_body = _bodies(brief, period, reissue_reason, filename)

    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["Subject"] = subject_for(brief.title_zh, reissue_reason)
    msg["From"] = sender_mailbox.header
    msg["To"] = parse_mailbox(recipient).header
    msg["Date"] = format_datetime(_now())
    msg.set_raw("Message-ID", message_id)  # unfolded: some systems mangle a folded id
    msg["X-Strategy-Briefs"] = f"period={period}; brief={brief.brief_id}; edition={edition}"
    msg.set_content(plain, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html_body, subtype="html", charset="utf-8", cte="base64")
    msg.make_mixed()
    msg.attach(pdf_attachment(pdf_bytes, filename))
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # only the top level carries it
    return msg


def build_operator_notice(sender: str, operators: tuple[str, ...], reason: str) -> EmailMessage:
    """A one-line notice to the operators (e.g. the quality gate held a month back)."""
    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["Subject"] = f"[战略简报] {reason}"[:200]
    msg["From"] = parse_mailbox(sender).header  # the same parser as the briefs' sender
    msg["To"] = ", ".join(parse_mailbox(operator).header for operator in operators)
    msg["Date"] = format_datetime(_now())
    msg.set_content(reason + "\n", charset="utf-8", cte="base64")
    return msg


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)
