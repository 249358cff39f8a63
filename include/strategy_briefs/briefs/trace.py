"""The claims file beside every rendered document: each sentence it prints, the facts it rests
on (brief_fact_key) and the rules that wrote it (issue 16, point 5).

Not `briefs/claims.py`: that module checks the numbers in the departments' own highlights
against the facts before a send; this one records what the generator wrote and why, so an
editor can trace any sentence of the PDF to its figures.

Rules:
- generated sentences come from `narrative.traced_article`: each clause names its rule
  (level, change, change_step, since_month, streak, record, rank, lead, children, companion,
  period, direction, sustained, rank_summary, branch_mark, branch_spotlight, others) and the
  brief_fact_keys it rests on (a branch mark or standing: every branch row it compared);
- the departments' highlights are listed with rule 'highlight' and no facts (their
  numbers are checked by claims.py), the configured outlook with rule 'outlook';
- the file sits beside the PDF as `<pdf stem>.trace.json` and is written deterministically
  (sorted keys, no clock), so the same facts give the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from strategy_briefs.briefs.context import ArticleContext, Paragraph
from strategy_briefs.periods import Period

TRACE_SUFFIX = ".trace.json"
HIGHLIGHT_RULE = "highlight"
OUTLOOK_RULE = "outlook"


@dataclass(frozen=True)
class TracedClause:
    text: str
    rule: str
    brief_fact_keys: tuple[str, ...]


@dataclass(frozen=True)
class TracedLine:
    """One sentence of the document as printed, with where it came from."""

    lob_code: str
    part: str  # 'lead' | 'paragraph' | 'highlight' | 'outlook'
    paragraph_no: int  # 1-based within its part
    text: str
    rules: tuple[str, ...]
    brief_fact_keys: tuple[str, ...]
    clauses: tuple[TracedClause, ...]


@dataclass(frozen=True)
class TraceDocument:
    brief_id: str
    period: Period
    title_zh: str
    sentences: tuple[TracedLine, ...]

    def to_json(self) -> str:
        fields = asdict(self) | {"period": str(self.period)}  # the file says '2020-06'
        return json.dumps(fields, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def trace_path(pdf_path: Path) -> Path:
    """'special_edition_2020-06.pdf' -> 'special_edition_2020-06.trace.json' beside it."""
    return Path(pdf_path).with_suffix(TRACE_SUFFIX)


def _generated_lines(lob_code: str, part: str, paragraphs: tuple[Paragraph, ...]):
    for number, paragraph in enumerate(paragraphs, start=1):
        for sentence in paragraph.sentences:
            yield TracedLine(
                lob_code=lob_code,
                part=part,
                paragraph_no=number,
                text=sentence.text,
                rules=sentence.rules,
                brief_fact_keys=sentence.fact_keys,
                clauses=tuple(TracedClause(c.text, c.rule, c.fact_keys) for c in sentence.clauses),
            )


def _fixed_line(lob_code: str, part: str, number: int, text: str, rule: str) -> TracedLine:
    return TracedLine(lob_code, part, number, text, (rule,), (), ())


def article_lines(article: ArticleContext) -> list[TracedLine]:
    """Every sentence of one article in print order: lead, paragraphs, highlights, outlook."""
    lines = list(
        _generated_lines(article.lob_code, "lead", (article.lead,) if article.lead else ())
    )
    lines += _generated_lines(article.lob_code, "paragraph", article.paragraphs)
    for number, section in enumerate(article.sections, start=1):
        text = (section.opener or "") + section.text
        lines.append(_fixed_line(article.lob_code, "highlight", number, text, HIGHLIGHT_RULE))
    if article.outlook:
        lines.append(
            _fixed_line(article.lob_code, "outlook", 1, article.outlook.text, OUTLOOK_RULE)
        )
    return lines


def trace_document(
    brief_id: str, period: Period, title_zh: str, articles: tuple[ArticleContext, ...]
) -> TraceDocument:
    lines = tuple(line for article in articles for line in article_lines(article))
    return TraceDocument(brief_id, period, title_zh, lines)


def write_trace(document: TraceDocument, pdf_path: Path) -> Path:
    """Write the claims file beside `pdf_path` atomically; returns its path."""
    target = trace_path(pdf_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(document.to_json())
    os.replace(tmp_name, target)
    return target


def read_trace(path: Path) -> TraceDocument:
    """A claims file back as typed rows (for checks and tests)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    lines = tuple(
        TracedLine(
            lob_code=line["lob_code"],
            part=line["part"],
            paragraph_no=line["paragraph_no"],
            text=line["text"],
            rules=tuple(line["rules"]),
            brief_fact_keys=tuple(line["brief_fact_keys"]),
            clauses=tuple(
                TracedClause(c["text"], c["rule"], tuple(c["brief_fact_keys"]))
                for c in line["clauses"]
            ),
        )
        for line in raw["sentences"]
    )
    return TraceDocument(raw["brief_id"], Period.parse(raw["period"]), raw["title_zh"], lines)
