"""Typed template contexts: everything a template prints, computed here (templates compute nothing).

Table rules (one function each):
- name:   the catalogue's short name ('客户数'); the article has already named its line
          of business, and a short name stays on one line at the table's width;
- change: signed figures, '+12.1%', '−1.9%', '+0.8个百分点', '持平' (`change_cell`);
          a 环比 of a year-to-date KPI compares the months' own flows and says so: '当月+3.2%';
- rank:   '首位', '第二位', '并列首位' (a first place with no lead is a tie) (`rank_cell`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from strategy_briefs.briefs import charts, narrative
from strategy_briefs.briefs.edition import EditionConfig
from strategy_briefs.briefs.facts import BriefFact, BriefHighlight, HistoryPoint
from strategy_briefs.briefs.numbers import (
    chinese_ordinal,
    format_points,
    format_rate_change,
    format_value,
)
from strategy_briefs.catalogue import LineOfBusiness
from strategy_briefs.periods import Period

MISSING = "—"
SPECIAL_EDITION_ID = "special_edition"  # the combined edition; every other brief is a lob_code
# A reason prints in page 1's top margin (templates/css/page.css): two lines of the box hold
# this much, and a longer one would run into the masthead.
MAX_REISSUE_REASON_CHARS = 120
MAX_TREND_KPIS = 4
MAX_PEER_KPIS = 3


@dataclass(frozen=True)
class KpiRow:
    name: str
    value: str
    mom: str
    yoy: str
    rank: str
    is_headline: bool
    is_part: bool  # a part of the row above ('其中：积存金'), set indented


@dataclass(frozen=True)
class KpiTable:
    rows: tuple[KpiRow, ...]
    has_demo_data: bool  # some cell carries DEMO_MARK
    has_month_flows: bool  # some 环比 compares a YTD KPI's monthly flows (当月)
    has_computed_ranks: bool  # some rank was computed from the peers' figures


@dataclass(frozen=True)
class ChartFigure:
    kind: str  # 'trend' | 'peers'
    caption: str
    alt: str
    src: str  # data: URI of the SVG
    texts: tuple[str, ...]
    is_demo_data: bool


@dataclass(frozen=True)
class Paragraph:
    text: str
    opener: str | None = None  # bold summary sentence before the text
    # a generated paragraph's sentences with their rules and facts (the claims file, trace.py)
    sentences: tuple[narrative.Sentence, ...] = ()


@dataclass(frozen=True)
class ArticleContext:
    lob_code: str
    lob_name_zh: str
    department_zh: str
    headline: str
    subtitle: str
    lead: Paragraph | None  # the headline figures, kept on the page of the headline
    paragraphs: tuple[Paragraph, ...]  # the other figures, after the lead
    sections: tuple[Paragraph, ...]  # the department's highlights, printed 一是……二是……
    outlook: Paragraph | None  # the closing outlook from config
    kpi_table: KpiTable | None
    kpi_table_note: str | None  # explains the demonstration-data mark when the table has one
    charts: tuple[ChartFigure, ...]
    credit_line: str
    is_demo_data: bool
    demo_marked: bool  # a figure or comparison in the text or table carries DEMO_MARK


@dataclass(frozen=True)
class HeadlineLine:
    """One article's lead sentence, as the mail's 本月要点 lists it."""

    lob_name_zh: str
    sentence: str  # narrative.lead_sentence of the article's lead, demo marks (＊) kept


def headline_lines(articles: Sequence[ArticleContext]) -> tuple[HeadlineLine, ...]:
    """The lead sentence of each article that has a lead, in the document's order."""
    return tuple(
        HeadlineLine(a.lob_name_zh, narrative.lead_sentence(a.lead.text))
        for a in articles
        if a.lead is not None
    )


@dataclass(frozen=True)
class DocumentMeta:
    """What goes into the PDF's metadata; `created` is derived from the period, never the clock."""

    title: str
    author: str
    subject: str
    keywords: tuple[str, ...]
    created: str  # W3C date-time
    lang: str = "zh-CN"


@dataclass(frozen=True)
class PageFrame:
    """Running header and footer of every page."""

    publication_zh: str
    section_band_zh: str  # '专版'
    section_band_en: str  # 'Special Edition'
    period_label: str  # '2020年上半年', '2020年1-7月'
    confidentiality: str  # '内部资料'
    correction_note: str | None  # a re-issue prints '更正版' and this note


@dataclass(frozen=True)
class SpecialEditionContext:
    meta: DocumentMeta
    frame: PageFrame
    section_band_zh: str
    section_band_en: str
    series_line: str
    editor_note: str
    articles: tuple[ArticleContext, ...]
    closing_slogan: str
    demo_notice: str | None


@dataclass(frozen=True)
class LineOfBusinessBriefContext:
    meta: DocumentMeta
    frame: PageFrame
    title: str  # '手机银行 月度简报'
    article: ArticleContext
    demo_notice: str | None


DEMO_MARK = narrative.DEMO_MARK
KPI_TABLE_DEMO_NOTE = f"{DEMO_MARK}演示数据，或以演示数据为比较基期。"


def demo_notice(articles: Sequence[ArticleContext]) -> str | None:
    """What a document says about the demonstration data it shows; None when it shows none."""
    parts = []
    if any(a.demo_marked for a in articles):
        parts.append(f"标{DEMO_MARK}的数据为演示数据或以演示数据为比较基期")
    if any(chart.is_demo_data for a in articles for chart in a.charts):
        parts.append("走势图中的历史月份为演示数据")
    return "本期" + "；".join(parts) + "，仅用于展示版式。" if parts else None


MINUS = "\u2212"  # a true minus sign, as wide as the plus in tabular figures
MONTH_FLOW_PREFIX = "当月"


def change_cell(fact: BriefFact, which: str) -> str:
    """'+12.1%', '−1.9%', '+0.8个百分点', '持平'; '当月+3.2%' for a YTD KPI's 环比; '—' if none."""
    change = fact.yoy_change if which == "yoy" else fact.mom_change
    if change is None or fact.change_unit not in ("rate", "pp"):
        return MISSING
    change = Decimal(change)
    if fact.change_unit == "rate":
        magnitude = format_rate_change(change, fact.change_decimals)
        flat = magnitude == "0%"
    else:
        magnitude = format_points(change)
        flat = magnitude == "0个百分点"
    text = "持平" if flat else ("+" if change > 0 else MINUS) + magnitude
    if which == "mom" and fact.is_ytd:
        text = MONTH_FLOW_PREFIX + text
    uses_demo_data = fact.yoy_uses_demo_data if which == "yoy" else fact.mom_uses_demo_data
    return text + (DEMO_MARK if uses_demo_data else "")


def rank_cell(fact: BriefFact) -> str:
    """'首位', '第二位', '并列首位'; '—' without a rank."""
    if fact.peer_rank is None or fact.peer_rank < 1:
        return MISSING
    if fact.peer_rank == 1:
        tied = fact.lead_over_runner_up is not None and Decimal(fact.lead_over_runner_up) == 0
        return "并列首位" if tied else "首位"
    return f"第{chinese_ordinal(fact.peer_rank)}位"


def kpi_table(facts: Sequence[BriefFact]) -> KpiTable | None:
    rows = []
    for fact in facts:
        value = narrative.value_text(fact)
        if fact.kind == "rank" or value is None:
            continue
        rows.append(
            KpiRow(
                name=fact.kpi_short_name_zh or fact.kpi_name_zh,
                value=value,
                mom=change_cell(fact, "mom"),
                yoy=change_cell(fact, "yoy"),
                rank=rank_cell(fact),
                is_headline=fact.is_headline,
                is_part=fact.kpi_short_name_zh.startswith("其中"),
            )
        )
    if not rows:
        return None
    shown = [f for f in facts if f.kind != "rank" and narrative.value_text(f) is not None]
    return KpiTable(
        rows=tuple(rows),
        has_demo_data=any(DEMO_MARK in c for r in rows for c in (r.value, r.mom, r.yoy)),
        has_month_flows=any(r.mom.startswith(MONTH_FLOW_PREFIX) for r in rows),
        has_computed_ranks=any(
            f.peer_rank is not None and f.peer_rank_source == "computed" for f in shown
        ),
    )


def _trend_figure(
    lob: LineOfBusiness,
    facts: Sequence[BriefFact],
    history: Sequence[HistoryPoint],
    bank: str,
    cache: charts.ChartCache | None = None,
) -> ChartFigure | None:
    by_kpi: dict[str, list[HistoryPoint]] = defaultdict(list)
    for point in history:
        if point.entity_code == bank:
            by_kpi[point.kpi_code].append(point)
    series = []
    for fact in facts:
        points = sorted(by_kpi.get(fact.kpi_code, ()), key=lambda p: p.period)
        if fact.is_headline and fact.kind != "rank" and len(points) >= 2:
            if not fact.is_ytd:
                points = points[-charts.TREND_MONTHS :]
            series.append(
                charts.TrendSeries(
                    title=fact.kpi_short_name_zh or fact.kpi_name_zh,
                    kind=fact.kind,
                    base_unit=fact.base_unit,
                    is_ytd=fact.is_ytd,
                    points=tuple((p.period, Decimal(p.value_base)) for p in points),
                    is_demo_data=any(p.is_demo_data for p in points),
                )
            )
    series = series[:MAX_TREND_KPIS]
    if not series:
        return None
    chart = charts.trend_chart(series, cache=cache)
    demo = any(s.is_demo_data for s in series)
    names = "、".join(s.title for s in series)
    moves = []
    for s in series:
        first = format_value(kind=s.kind, base_unit=s.base_unit, value_base=s.points[0][1])
        last = format_value(kind=s.kind, base_unit=s.base_unit, value_base=s.points[-1][1])
        moves.append(f"{s.title}由{first}变为{last}")
    alt = f"折线图：{names}走势，累计指标与上年同期累计比较。" + "；".join(moves) + "。"
    caption = "主要指标走势" + ("（演示数据）" if demo else "")
    return ChartFigure(
        "trend",
        caption,
        alt + ("历史月份为演示数据。" if demo else ""),
        chart.data_uri(),
        chart.texts,
        demo,
    )


def _peer_figure(
    facts: Sequence[BriefFact],
    history: Sequence[HistoryPoint],
    config: EditionConfig,
    cache: charts.ChartCache | None = None,
) -> ChartFigure | None:
    current: dict[str, dict[str, HistoryPoint]] = defaultdict(dict)
    for point in history:
        if point.period == facts[0].period:
            current[point.kpi_code][point.entity_code] = point
    bars = []
    for fact in facts:
        banks = current.get(fact.kpi_code, {})
        if fact.kind == "rank" or len(banks) < 2 or config.reporting_bank_code not in banks:
            continue
        order = [config.reporting_bank_code] + sorted(
            (c for c in banks if c != config.reporting_bank_code),
            key=lambda c: (-banks[c].value_base, c),
        )
        bars.append(
            charts.PeerBars(
                title=fact.kpi_short_name_zh or fact.kpi_name_zh,
                kind=fact.kind,
                base_unit=fact.base_unit,
                banks=tuple(
                    (
                        config.bank_short_names.get(c, c),
                        Decimal(banks[c].value_base),
                        c == config.reporting_bank_code,
                    )
                    for c in order
                ),
                is_demo_data=any(banks[c].is_demo_data for c in order),
            )
        )
    bars = bars[:MAX_PEER_KPIS]
    if not bars:
        return None
    chart = charts.peer_chart(bars, cache=cache)
    demo = any(b.is_demo_data for b in bars)
    parts = []
    for b in bars:
        values = "，".join(
            f"{name}{format_value(kind=b.kind, base_unit=b.base_unit, value_base=v)}"
            for name, v, _ in b.banks
        )
        parts.append(f"{b.title}：{values}")
    alt = "条形图：同业比较。" + "；".join(parts) + "。"
    caption = "四行比较" if max(len(b.banks) for b in bars) == 4 else "同业比较"
    return ChartFigure(
        "peers",
        caption + ("（演示数据）" if demo else ""),
        alt,
        chart.data_uri(),
        chart.texts,
        demo,
    )


def article_context(
    lob: LineOfBusiness,
    facts: Sequence[BriefFact],
    history: Sequence[HistoryPoint],
    config: EditionConfig,
    highlights: Sequence[BriefHighlight] = (),
    chart_cache: charts.ChartCache | None = None,
) -> ArticleContext:
    words = config.wording[lob.lob_code]
    facts = sorted(facts, key=lambda f: (f.display_order, f.kpi_code))
    paragraphs = [
        Paragraph(traced.text, sentences=traced.sentences)
        for traced in narrative.traced_article(facts, config.article_rules(lob.lob_code))
    ]
    sections = tuple(
        Paragraph(item.body, item.opener) for item in sorted(highlights, key=lambda i: i.item_no)
    )
    # the table and charts are the reporting bank's; branch figures are written in the text only
    own = [f for f in facts if not f.branch_name]
    table = kpi_table(own)
    table_marked = table is not None and table.has_demo_data
    figures = [
        f
        for f in (
            _trend_figure(lob, own, history, config.reporting_bank_code, chart_cache),
            _peer_figure(own, history, config, chart_cache) if own else None,
        )
        if f is not None
    ]
    return ArticleContext(
        lob_code=lob.lob_code,
        lob_name_zh=lob.name_zh,
        department_zh=lob.department_zh,
        headline=words.headline,
        subtitle=words.subtitle,
        lead=paragraphs[0] if paragraphs else None,
        paragraphs=tuple(paragraphs[1:]),
        sections=sections,
        outlook=Paragraph(words.outlook) if words.outlook else None,
        kpi_table=table,
        kpi_table_note=KPI_TABLE_DEMO_NOTE if table_marked else None,
        charts=tuple(figures),
        credit_line=words.credit_line,
        is_demo_data=any(f.is_demo_data for f in facts) or any(f.is_demo_data for f in figures),
        demo_marked=table_marked or any(DEMO_MARK in p.text for p in paragraphs),
    )


def checked_correction_note(note: str) -> str:
    """The re-issue reason as printed, or a ValueError saying what is wrong with it."""
    text = " ".join(note.split())
    if not text:
        raise ValueError("a re-issue needs a reason (it is printed as the 更正说明)")
    if len(text) > MAX_REISSUE_REASON_CHARS:
        raise ValueError(
            f"the re-issue reason has {len(text)} characters; at most "
            f"{MAX_REISSUE_REASON_CHARS} fit the 更正说明 box on page 1"
        )
    return text


def _frame(config: EditionConfig, period: Period, correction_note: str | None) -> PageFrame:
    return PageFrame(
        publication_zh=config.publication_zh,
        section_band_zh=config.section_band_zh,
        section_band_en=config.section_band_en,
        # the masthead names the span the month closes, as the year-to-date figures do
        period_label=period.year_to_date_label_zh,
        confidentiality=config.confidentiality,
        correction_note=correction_note,
    )


def build_contexts(
    facts: Sequence[BriefFact],
    history: Sequence[HistoryPoint],
    period: Period,
    config: EditionConfig,
    corrections: Mapping[str, str] | None = None,
    highlights: Sequence[BriefHighlight] = (),
    chart_cache: charts.ChartCache | None = None,
) -> tuple[SpecialEditionContext, list[LineOfBusinessBriefContext]]:
    """The special edition and one brief per line of business that has facts this month.

    `corrections`: brief id (`SPECIAL_EDITION_ID` or a lob_code) -> the reason a re-issue of
    that brief prints as 更正版 and 更正说明; the other briefs print as they were.
    `chart_cache`: where charts already drawn for the same inputs are read (`charts.py`).
    """
    notes = correction_notes(corrections)
    articles = list(article_contexts(facts, history, period, config, highlights, chart_cache))
    edition = edition_context(articles, period, config, notes)
    return edition, [brief_context(article, period, config, notes) for article in articles]


def correction_notes(corrections: Mapping[str, str] | None) -> dict[str, str]:
    """brief id -> its 更正说明 as printed (`checked_correction_note`)."""
    return {brief: checked_correction_note(text) for brief, text in (corrections or {}).items()}


def article_contexts(
    facts: Sequence[BriefFact],
    history: Sequence[HistoryPoint],
    period: Period,
    config: EditionConfig,
    highlights: Sequence[BriefHighlight] = (),
    chart_cache: charts.ChartCache | None = None,
) -> Iterator[ArticleContext]:
    """One article per line of business with facts this month, in the edition's order, each
    built when it is asked for (the renderer writes a line's brief before the next line's
    charts are drawn)."""
    by_lob: dict[str, list[BriefFact]] = defaultdict(list)
    highlights_by_lob: dict[str, list[BriefHighlight]] = defaultdict(list)
    for item in highlights:
        highlights_by_lob[item.lob_code].append(item)
    for fact in facts:
        if fact.period != period.first_day:
            raise ValueError(f"fact {fact.brief_fact_key} is not of period {period}")
        by_lob[fact.lob_code].append(fact)
    unknown = sorted(set(by_lob) - set(config.lines_of_business))
    if unknown:
        raise ValueError(f"facts for unknown lines of business: {unknown}")
    lobs = sorted(
        (config.lines_of_business[code] for code in by_lob), key=lambda lob: lob.article_order
    )
    for lob in lobs:
        yield article_context(
            lob, by_lob[lob.lob_code], history, config, highlights_by_lob[lob.lob_code], chart_cache
        )


def edition_context(
    articles: Sequence[ArticleContext],
    period: Period,
    config: EditionConfig,
    notes: Mapping[str, str],
) -> SpecialEditionContext:
    """The special edition of the month's articles; `notes` from `correction_notes`."""
    label = period.label_zh
    return SpecialEditionContext(
        meta=DocumentMeta(
            title=f"{config.title_zh}（{label}）",
            author=config.author_zh,
            subject=f"{config.publication_zh}{config.section_band_zh}：{label}各业务条线经营情况",
            keywords=(config.section_band_zh, label, *(a.lob_name_zh for a in articles)),
            created=period.published_at.isoformat(),
        ),
        frame=_frame(config, period, notes.get(SPECIAL_EDITION_ID)),
        section_band_zh=config.section_band_zh,
        section_band_en=config.section_band_en,
        series_line=config.series_line,
        editor_note=config.editor_note.replace("{article_count}", chinese_ordinal(len(articles))),
        articles=tuple(articles),
        closing_slogan=config.closing_slogan,
        demo_notice=demo_notice(articles),
    )


def brief_context(
    article: ArticleContext,
    period: Period,
    config: EditionConfig,
    notes: Mapping[str, str],
) -> LineOfBusinessBriefContext:
    """One line of business's brief of its article; `notes` from `correction_notes`."""
    label = period.label_zh
    return LineOfBusinessBriefContext(
        meta=DocumentMeta(
            title=f"{article.lob_name_zh}月度简报（{label}）",
            author=article.department_zh,
            subject=f"{article.lob_name_zh}{label}经营情况",
            keywords=(article.lob_name_zh, label, "第一个人金融银行"),
            created=period.published_at.isoformat(),
        ),
        frame=_frame(config, period, notes.get(article.lob_code)),
        title=f"{article.lob_name_zh}月度简报",
        article=article,
        demo_notice=demo_notice([article]),
    )
