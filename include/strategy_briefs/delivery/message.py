"""Build the email for one brief and one recipient.

Compatibility choices (checked on the raw bytes by tests/delivery/test_message.py):
- Subject and display names: RFC 2047 encoded words, produced by the `email` policy.
- The PDF's Chinese file name twice: `filename*=utf-8''...` (RFC 2231, one parameter, no
  continuations) on Content-Disposition for standards-following clients, and
  `name="=?utf-8?b?...?="` (RFC 2047 words) on Content-Type, which Outlook and QQ Mail read.
  Those two header values are written verbatim (`set_raw` + `refold_source='none'`) so the
  policy cannot re-encode or split them.
- Bodies (Jinja templates under templates/mail/) and page 1's PNG in base64 so the whole
  message is 7-bit ASCII and needs no 8BITMIME/SMTPUTF8.
- Message-ID derived from (period, brief, edition, recipient): a resend of the same message
  carries the same id, which servers, archives and some clients use to de-duplicate.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from strategy_briefs.briefs.context import HeadlineLine
from strategy_briefs.briefs.rendered import RenderedBrief
from strategy_briefs.config import Settings
from strategy_briefs.delivery.recipients import parse_mailbox
from strategy_briefs.hashing import sha256_hex

CORRECTION_MARK = "更正版"
# SMTP policy (CRLF, 78-column folding) but leave our pre-built raw headers untouched.
MESSAGE_POLICY = policy.SMTP.clone(refold_source="none")
_UNSAFE_FILENAME_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RFC2231_SAFE = "!#$&+-.^_`|~"


def message_id_for(period: str, brief_id: str, edition: int, recipient: str, domain: str) -> str:
    """Stable Message-ID; the recipient is hashed so the id does not spell out the address."""
    recipient_hash = sha256_hex(recipient.lower().encode("utf-8"))[:16]
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


@dataclass(frozen=True)
class MailBody:
    """What the mail templates (templates/mail/brief.txt, .html) print."""

    title_zh: str
    headline_lines: tuple[HeadlineLine, ...]
    demo_notice: str | None
    reissue_reason: str | None
    attachment_filename: str
    page_image_cid: str  # the Content-ID of page 1's picture, without the angle brackets
    correction_mark: str = CORRECTION_MARK


@lru_cache(maxsize=1)
def _mail_templates(templates_dir: str):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_bodies(body: MailBody, templates_dir: Path | None = None) -> tuple[str, str]:
    """(plain text, HTML) of one mail; the project's mail templates unless `templates_dir`."""
    env = _mail_templates(str(templates_dir or Settings.from_env().mail_templates_dir))
    return (
        env.get_template("brief.txt").render(mail=body),
        env.get_template("brief.html").render(mail=body),
    )


def page_image_cid(message_id: str) -> str:
    """Page 1's Content-ID, derived from the Message-ID: unique per message, stable per row."""
    return "page-1." + message_id.strip("<>")


def _attach_page_image(html_part: MIMEPart, page_png: bytes, cid: str) -> None:
    """Turn the HTML part into multipart/related with page 1's PNG, referred to as cid:."""
    html_part.add_related(
        page_png,
        maintype="image",
        subtype="png",
        cid=f"<{cid}>",
        disposition="inline",  # shown in place; the name only for clients that save it
        filename="page-1.png",
    )


def build_message(
    brief: RenderedBrief,
    *,
    period: str,
    edition: int,
    recipient: str,
    sender: str,
    pdf_bytes: bytes,
    page_png: bytes,
    reissue_reason: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """The email for one (brief, edition, recipient); `pdf_bytes` is the archived PDF and
    `page_png` its page 1 (`briefs.render.first_page_png`), shown inline in the HTML part.

    multipart/mixed [ multipart/alternative [ text/plain, multipart/related [ text/html,
    image/png ] ], application/pdf ]: text-only clients show no picture, the rest show it
    in place (cid:), and the PDF is the one attachment."""
    sender_mailbox = parse_mailbox(sender)  # refuses CRLF and a second address
    if message_id is None:
        domain = sender_mailbox.address.rsplit("@", 1)[1]
        message_id = message_id_for(period, brief.brief_id, edition, recipient, domain)
    filename = attachment_filename(brief.title_zh, reissue_reason)
    cid = page_image_cid(message_id)
    plain, html_body = render_bodies(
        MailBody(
            title_zh=brief.title_zh,
            headline_lines=tuple(brief.headline_lines),
            demo_notice=brief.demo_notice,
            reissue_reason=reissue_reason,
            attachment_filename=filename,
            page_image_cid=cid,
        )
    )

    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["Subject"] = subject_for(brief.title_zh, reissue_reason)
    msg["From"] = sender_mailbox.header
    msg["To"] = parse_mailbox(recipient).header
    msg["Date"] = format_datetime(_now())
    msg.set_raw("Message-ID", message_id)  # unfolded: some systems mangle a folded id
    msg["X-Strategy-Briefs"] = f"period={period}; brief={brief.brief_id}; edition={edition}"
    msg.set_content(plain, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html_body, subtype="html", charset="utf-8", cte="base64")
    _attach_page_image(msg.get_payload()[1], page_png, cid)
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
