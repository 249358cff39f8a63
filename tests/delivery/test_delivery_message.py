"""The message's raw bytes: what Outlook, QQ Mail and standards-following clients read."""

from __future__ import annotations

import re
import tempfile
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser
from functools import lru_cache
from pathlib import Path

from delivery_helpers import minimal_pdf

from strategy_briefs.briefs.context import HeadlineLine
from strategy_briefs.briefs.render import first_page_png
from strategy_briefs.briefs.rendered import RenderedBrief
from strategy_briefs.delivery.message import build_message, message_id_for
from strategy_briefs.delivery.send import MAIL_PAGE_WIDTH_PX, message_bytes

TITLE = "手机银行月度简报 2020年6月"
SENDER = "战略简报 <strategy-briefs@example.com>"


LINE = HeadlineLine("手机银行", "客户 4.3 亿户 <增长>＊")


@lru_cache(maxsize=1)
def _page_png() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "x.pdf"
        pdf.write_bytes(minimal_pdf("x"))
        return first_page_png(pdf, MAIL_PAGE_WIDTH_PX)


def _message(reissue_reason=None, title=TITLE, edition=1, demo_notice=None):
    # the message reads the title, the lead sentences and the demo notice; the PDF is given
    brief = RenderedBrief(
        brief_id="mobile_banking",
        title_zh=title,
        path=Path("unused.pdf"),
        sha256="00" * 32,
        page_count=1,
        warnings=(),
        data_snapshot_sha256="ab" * 32,
        template_version="test-1",
        headline_lines=(LINE,),
        demo_notice=demo_notice,
        correction_note=reissue_reason,
        trace_path=Path("unused.trace.json"),
    )
    return build_message(
        brief,
        period="2020-06",
        edition=edition,
        recipient="head.online-finance@example.com",
        sender=SENDER,
        pdf_bytes=minimal_pdf("x"),
        page_png=_page_png(),
        reissue_reason=reissue_reason,
    )


def _header_block(raw: bytes, name: bytes) -> bytes:
    """One header with its continuation lines, from anywhere in the raw message."""
    match = re.search(rb"^" + name + rb".*?(?=\r\n[^ \t])", raw, re.M | re.S | re.I)
    assert match, name
    return match.group(0)


def test_raw_bytes_are_7bit_with_encoded_subject_and_both_filename_forms():
    raw = message_bytes(_message())
    raw.decode("ascii")  # no 8-bit byte anywhere: no 8BITMIME or SMTPUTF8 needed
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert "手机".encode() not in raw

    subject = _header_block(raw, b"Subject:")
    assert b"=?utf-8?" in subject
    assert str(make_header(decode_header(subject.split(b":", 1)[1].decode()))) == TITLE

    filename = f"{TITLE}.pdf"
    disposition = _header_block(raw, b"Content-Disposition: attachment").decode()
    (value,) = re.findall(r"filename\*=utf-8''(\S+)", disposition)
    from urllib.parse import unquote

    assert unquote(value) == filename
    assert "filename*0" not in disposition  # one parameter, no RFC 2231 continuations

    content_type = _header_block(raw, b"Content-Type: application/pdf").decode()
    (quoted,) = re.findall(r'name="([^"]+)"', content_type)
    words = quoted.split(" ")
    assert all(re.fullmatch(r"=\?utf-8\?b\?[A-Za-z0-9+/=]+\?=", w) and len(w) <= 75 for w in words)
    assert str(make_header(decode_header(quoted))) == filename


def test_parsed_message_has_chinese_subject_attachment_and_both_bodies():
    msg = BytesParser(policy=policy.default).parsebytes(message_bytes(_message()))
    assert msg["Subject"] == TITLE
    assert msg["From"].addresses[0].display_name == "战略简报"
    (attachment,) = msg.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{TITLE}.pdf"
    assert attachment.get_content() == minimal_pdf("x")
    assert "手机银行：客户 4.3 亿户 <增长>＊" in msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "<strong>手机银行</strong>：客户 4.3 亿户 &lt;增长&gt;＊" in html


def test_html_body_shows_page_one_by_cid_inside_multipart_related():
    msg = BytesParser(policy=policy.default).parsebytes(message_bytes(_message()))
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()
    plain, related = alternative.get_payload()
    assert (plain.get_content_type(), related.get_content_type()) == (
        "text/plain",
        "multipart/related",
    )
    html, image = related.get_payload()
    (cid,) = re.findall(r'src="cid:([^"]+)"', html.get_content())
    assert image["Content-ID"] == f"<{cid}>"
    assert cid == "page-1." + str(msg["Message-ID"]).strip("<>")  # stable per ledger row
    assert image.get_content() == _page_png() and image.get_content().startswith(b"\x89PNG")
    assert image.get_content_disposition() == "inline"
    assert attachment.get_content_type() == "application/pdf"
    assert "cid:" not in plain.get_content()


def test_demo_notice_explains_the_mark_in_both_bodies():
    notice = "本期标＊的数据为演示数据或以演示数据为比较基期，仅用于展示版式。"
    msg = BytesParser(policy=policy.default).parsebytes(message_bytes(_message(demo_notice=notice)))
    assert notice in msg.get_body(("plain",)).get_content()
    assert notice in msg.get_body(("html",)).get_content()
    plain_without = BytesParser(policy=policy.default).parsebytes(message_bytes(_message()))
    assert "演示数据" not in plain_without.get_body(("plain",)).get_content()


def test_reissue_is_marked_in_subject_filename_and_body():
    msg = BytesParser(policy=policy.default).parsebytes(
        message_bytes(_message(reissue_reason="口径更正", edition=2))
    )
    assert msg["Subject"] == f"【更正版】{TITLE}"
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == f"{TITLE}（更正版）.pdf"
    assert "更正原因：口径更正" in msg.get_body(("plain",)).get_content()
    assert "更正原因：口径更正" in msg.get_body(("html",)).get_content()


def test_long_title_keeps_each_encoded_word_short_and_round_trips():
    title = "专版 Special Edition 2020年6月 手机银行、信用卡、贵金属与私人银行业务同业对标月度简报"
    msg = BytesParser(policy=policy.default).parsebytes(message_bytes(_message(title=title)))
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == f"{title}.pdf"
    assert str(make_header(decode_header(attachment.get_param("name")))) == f"{title}.pdf"
    assert msg["Subject"] == title


def test_message_id_is_stable_and_distinct_per_edition_and_recipient():
    first, again = _message(), _message()
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"] == message_id_for(
        "2020-06", "mobile_banking", 1, "head.online-finance@example.com", "example.com"
    )
    ids = {
        message_id_for("2020-06", "mobile_banking", edition, recipient, "example.com")
        for edition in (1, 2)
        for recipient in ("a@example.com", "b@example.com")
    }
    assert len(ids) == 4
    assert b"\r\nMessage-ID: <strategy-briefs.2020-06.mobile_banking.e1." in message_bytes(first)


def test_operator_notice_carries_the_one_line_reason():
    from strategy_briefs.delivery.message import build_operator_notice

    reason = "2020-06 not sent: line(s) of business not loaded: private_banking"
    notice = build_operator_notice(SENDER, ("data-ops@example.com",), reason)
    parsed = BytesParser(policy=policy.default).parsebytes(message_bytes(notice))
    assert parsed["Subject"] == f"[战略简报] {reason}"
    assert parsed["To"] == "data-ops@example.com"
    assert parsed.get_content().strip() == reason
