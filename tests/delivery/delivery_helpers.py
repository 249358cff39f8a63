"""Helpers shared by the delivery tests: tiny real PDFs, briefs, a refusing SMTP handler."""

from __future__ import annotations

from pathlib import Path

from strategy_briefs.briefs.context import HeadlineLine
from strategy_briefs.briefs.rendered import RenderedBrief
from strategy_briefs.briefs.trace import trace_path
from strategy_briefs.hashing import file_sha256
from strategy_briefs_demo.sink import EmlSaver

EXECUTIVES = ["president@example.com", "vp.retail@example.com"]
MOBILE_HEADS = ["head.online-finance@example.com"]
ALL_RECIPIENTS = EXECUTIVES + MOBILE_HEADS
BRIEF_IDS = frozenset({"special_edition", "mobile_banking"})
HEADLINES = (
    HeadlineLine("手机银行", "截至6月末，手机银行客户数达到3.85亿户＊，居四行首位。"),
    HeadlineLine("信用卡", "截至6月末，线上获客占比超过50%；融e借不良率为1.37%。"),
)
DEMO_NOTICE = "本期标＊的数据为演示数据或以演示数据为比较基期，仅用于展示版式。"


def minimal_pdf(text: str) -> bytes:
    """A small valid one-page PDF whose bytes depend on `text` (ASCII)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def rendered_brief(
    brief_id: str, title: str, path: Path, demo_notice: str | None = DEMO_NOTICE
) -> RenderedBrief:
    """The brief as the renderer hands it on, for a PDF and its claims file at `path`."""
    return RenderedBrief(
        brief_id=brief_id,
        title_zh=title,
        path=path,
        sha256=file_sha256(path),
        page_count=1,
        warnings=(),
        data_snapshot_sha256="ab" * 32,
        template_version="test-1",
        headline_lines=HEADLINES,
        demo_notice=demo_notice,
        correction_note=None,
        trace_path=trace_path(path),
    )


def make_briefs(folder: Path, period: str, variant: str = "v1") -> list[RenderedBrief]:
    folder.mkdir(parents=True, exist_ok=True)
    year, month = period.split("-")
    label = f"{int(year)}年{int(month)}月"
    briefs = []
    for brief_id, title in [
        ("special_edition", f"专版 Special Edition {label}"),
        ("mobile_banking", f"手机银行月度简报 {label}"),
    ]:
        path = folder / f"{brief_id}-{variant}.pdf"
        path.write_bytes(minimal_pdf(f"{brief_id} {period} {variant}"))
        # the claims file the renderer writes beside each PDF (briefs/trace.py)
        trace_path(path).write_text(
            f'{{"brief_id": "{brief_id}", "sentences": []}}\n', encoding="utf-8"
        )
        briefs.append(rendered_brief(brief_id, title, path))
    return briefs


class RejectingSaver(EmlSaver):
    """The sink, refusing RCPT for the addresses in `rejected` with a permanent 550."""

    def __init__(self, out_dir: Path, rejected: set[str]):
        super().__init__(out_dir)
        self.rejected = rejected

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.rejected:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"
