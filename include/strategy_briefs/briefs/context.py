"""Typed template contexts: everything a template prints, computed here (templates compute nothing)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from strategy_briefs.briefs import charts, narrative
from strategy_briefs.briefs.edition import EditionConfig, LineOfBusiness
from strategy_briefs.briefs.facts import BriefFact, HistoryPoint
from strategy_briefs.briefs.numbers import chinese_ordinal, format_value

MISSING = "—"
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


@dataclass(frozen=True)
class ArticleContext:
    lob_code: str
    lob_name_zh: str
    department_zh: str
    headline: str
    subtitle: str
    paragraphs: tuple[Paragraph, ...]
    kpi_rows: tuple[KpiRow, ...]
    kpi_table_note: str | None  # explains the demonstration-data mark when the table has one
    charts: tuple[ChartFigure, ...]
    credit_line: str
    is_demo_data: bool
    demo_marked: bool  # a figure or comparison in the text or table carries DEMO_MARK


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
    period_label: str  # '2020年6月'
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


def period_label(month: date) -> str:
    return f"{month.year}年{month.month}月"


def publication_date(month: date) -> str:
    """The brief of a month is dated the first day of the next month, 09:00 Beijing time."""
    year, next_month = (month.year + 1, 1) if month.month == 12 else (month.year, month.month + 1)
    return f"{year:04d}-{next_month:02d}-01T09:00:00+08:00"


def _change_cell(fact: BriefFact, which: str) -> str:
    clause = narrative.change_clause(fact, which)
    if clause is None:
        return MISSING
    # The table's column already says 同比/环比; the cell keeps the direction and size.
    for prefix in ("与去年同期", "同比", "环比"):
        if clause.startswith(prefix):
            clause = clause[len(prefix) :]
    return clause


def kpi_rows(facts: Sequence[BriefFact]) -> tuple[KpiRow, ...]:
    rows = []
    for fact in facts:
        if fact.kind == "rank":
            continue
        value = narrative.value_text(fact)
        if value is None:
            continue
        rows.append(
            KpiRow(
                name=fact.kpi_name_zh
                + ("（累计）" if fact.is_ytd and "累计" not in fact.kpi_name_zh else ""),
                value=value,
                mom=_change_cell(fact, "mom"),
                yoy=_change_cell(fact, "yoy"),
                rank=narrative.rank_text(fact) or MISSING,
                is_headline=fact.is_headline,
            )
        )
    return tuple(rows)


def _trend_figure(
    lob: LineOfBusiness, facts: Sequence[BriefFact], history: Sequence[HistoryPoint], bank: str
) -> ChartFigure | None:
    by_kpi: dict[str, list[HistoryPoint]] = defaultdict(list)
    for point in history:
        if point.entity_code == bank:
            by_kpi[point.kpi_code].append(point)
    series = []
    for fact in facts:
        points = sorted(by_kpi.get(fact.kpi_code, ()), key=lambda p: p.period)
        if fact.is_headline and fact.kind != "rank" and len(points) >= 2:
            series.append(
                charts.TrendSeries(
                    title=narrative.short_name(fact, lob.name_zh)
                    if len(series)
                    else fact.kpi_name_zh,
                    kind=fact.kind,
                    base_unit=fact.base_unit,
                    points=tuple((p.period, Decimal(p.value_base)) for p in points),
                    is_demo_data=any(p.is_demo_data for p in points),
                )
            )
    series = series[:MAX_TREND_KPIS]
    if not series:
        return None
    chart = charts.trend_chart(series)
    demo = any(s.is_demo_data for s in series)
    months = max(len(s.points) for s in series)
    names = "、".join(s.title for s in series)
    moves = []
    for s in series:
        first = format_value(kind=s.kind, base_unit=s.base_unit, value_base=s.points[0][1])
        last = format_value(kind=s.kind, base_unit=s.base_unit, value_base=s.points[-1][1])
        moves.append(f"{s.title}由{first}变为{last}")
    alt = f"折线图：{names}近{months}个月走势。" + "；".join(moves) + "。"
    caption = f"近{months}个月走势" + ("（演示数据）" if demo else "")
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
                title=fact.kpi_name_zh,
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
    chart = charts.peer_chart(bars)
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
) -> ArticleContext:
    facts = sorted(facts, key=lambda f: (f.display_order, f.kpi_code))
    paragraphs = [
        Paragraph(text)
        for text in narrative.article_paragraphs(facts, config.article_rules(lob.lob_code))
    ]
    if lob.outlook:
        paragraphs.append(Paragraph(lob.outlook))
    rows = kpi_rows(facts)
    table_marked = any(DEMO_MARK in cell for r in rows for cell in (r.value, r.mom, r.yoy))
    figures = [
        f
        for f in (
            _trend_figure(lob, facts, history, config.reporting_bank_code),
            _peer_figure(facts, history, config) if facts else None,
        )
        if f is not None
    ]
    return ArticleContext(
        lob_code=lob.lob_code,
        lob_name_zh=lob.name_zh,
        department_zh=lob.department_zh,
        headline=lob.headline,
        subtitle=lob.subtitle,
        paragraphs=tuple(paragraphs),
        kpi_rows=rows,
        kpi_table_note=KPI_TABLE_DEMO_NOTE if table_marked else None,
        charts=tuple(figures),
        credit_line=lob.credit_line,
        is_demo_data=any(f.is_demo_data for f in facts) or any(f.is_demo_data for f in figures),
        demo_marked=table_marked or any(DEMO_MARK in p.text for p in paragraphs),
    )


def _frame(config: EditionConfig, month: date, correction_note: str | None) -> PageFrame:
    return PageFrame(
        publication_zh=config.publication_zh,
        section_band_zh=config.section_band_zh,
        section_band_en=config.section_band_en,
        period_label=period_label(month),
        confidentiality=config.confidentiality,
        correction_note=correction_note,
    )


def build_contexts(
    facts: Sequence[BriefFact],
    history: Sequence[HistoryPoint],
    month: date,
    config: EditionConfig,
    correction_note: str | None = None,
) -> tuple[SpecialEditionContext, list[LineOfBusinessBriefContext]]:
    """The special edition and one brief per line of business that has facts this month."""
    by_lob: dict[str, list[BriefFact]] = defaultdict(list)
    for fact in facts:
        if fact.period != month:
            raise ValueError(f"fact {fact.brief_fact_key} is not of period {month:%Y-%m}")
        by_lob[fact.lob_code].append(fact)
    unknown = sorted(set(by_lob) - set(config.lines_of_business))
    if unknown:
        raise ValueError(f"facts for unknown lines of business: {unknown}")
    lobs = sorted(
        (config.lines_of_business[code] for code in by_lob), key=lambda lob: lob.article_order
    )
    articles = [article_context(lob, by_lob[lob.lob_code], history, config) for lob in lobs]
    frame = _frame(config, month, correction_note)
    created = publication_date(month)
    label = period_label(month)
    edition = SpecialEditionContext(
        meta=DocumentMeta(
            title=f"{config.title_zh}（{label}）",
            author=config.author_zh,
            subject=f"{config.publication_zh}{config.section_band_zh}：{label}各业务条线经营情况",
            keywords=(config.section_band_zh, label, *(a.lob_name_zh for a in articles)),
            created=created,
        ),
        frame=frame,
        section_band_zh=config.section_band_zh,
        section_band_en=config.section_band_en,
        series_line=config.series_line,
        editor_note=config.editor_note.replace("{article_count}", chinese_ordinal(len(articles))),
        articles=tuple(articles),
        closing_slogan=config.closing_slogan,
        demo_notice=demo_notice(articles),
    )
    briefs = [
        LineOfBusinessBriefContext(
            meta=DocumentMeta(
                title=f"{article.lob_name_zh}月度简报（{label}）",
                author=article.department_zh,
                subject=f"{article.lob_name_zh}{label}经营情况",
                keywords=(article.lob_name_zh, label, "第一个人金融银行"),
                created=created,
            ),
            frame=frame,
            title=f"{article.lob_name_zh}月度简报",
            article=article,
            demo_notice=demo_notice([article]),
        )
        for article in articles
    ]
    return edition, briefs
