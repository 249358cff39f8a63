"""Generated narrative: explicit phrasing rules that follow the newsletter's STYLE.md.

Every function takes brief facts and returns a phrase or sentence, or None when the fact
needed for it is missing: no sentence is ever written about a figure we do not have.

Rules (one function each):
- level:    '手机银行客户数达到3.85亿户'; qualifiers 超过/近 replace 达到 ('线上获客占比超过50%')
- change:   counts/amounts by a rate '同比增长25.4%' / '同比下降3.1%' (one decimal unless
            the catalogue's change_decimals says two); ratios by points at one decimal
            '同比提升10个百分点' / '同比下降2.5个百分点'; '同比持平' when the change rounds to
            zero; cumulative (YTD) KPIs compare with '与去年同期'; 环比 the same with '环比'
- rank:     '居四行首位', '居四行第二位', '并列四行首位' (rank 1 with a zero lead)
- lead:     '领先第二名建行1762万户' (rank 1, a positive lead and a named runner-up only)
- lead paragraph: '截至6月末，手机银行客户数达到3.85亿户，市场占比30%，居四行首位，
            领先第二名建行1762万户。' (point-in-time figures: 截至N月末)
- lead sentence: the lead paragraph's first sentence, what a mail shows of the article
- themes:   after the lead, one paragraph per catalogue theme (kpi_catalogue.theme), in the
            order of each theme's first KPI: its cumulative figures under the span the month
            closes, then its point-in-time figures under 截至N月末; KPIs without a theme
            close the article ('其他主要指标方面，……')
- direction: a theme named in config (judgements.theme_subjects) opens with a judgement
            from its KPIs' 同比, good news positive (a falling 不良率 is): 显著提升 when at
            least `rising_share` rose and their median rise reaches `strong_median` (% or
            points), 稳步提升 when they rose less, 有所回落 when as many fell, 保持稳定 when
            every move is under `flat_below`; none when fewer than `min_kpis` KPIs or any
            printed KPI has no 同比, or the moves disagree ('重点客群渗透率显著提升，截至6月末，……')
- year-to-date paragraph: opens with the span the month closes: 一季度 (March), 上半年
            (June), 前三季度 (September), 全年 (December), else 1-N月 ('上半年，手机银行交易
            金额累计达到31.5万亿元，与去年同期增长25.4%；……')
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from strategy_briefs.briefs.facts import BriefFact
from strategy_briefs.briefs.numbers import (
    chinese_ordinal,
    format_points,
    format_quantity,
    format_rate_change,
    format_value,
)
from strategy_briefs.periods import Period

# Qualifiers that already say where the figure stands, so '达到' would be wrong.
_REPLACES_REACHED = ("超过", "近", "接近")
_MAX_CLAUSES_PER_SENTENCE = 3


@dataclass(frozen=True)
class Companion:
    """A fact printed inside another fact's sentence, e.g. market share after customers."""

    kpi_code: str
    label: str  # '市场占比'


DEMO_MARK = "＊"  # follows every figure or comparison that rests on demonstration data


def value_text(fact: BriefFact) -> str | None:
    """The figure as printed: '3.85亿户'; '3.85亿户＊' when it is demonstration data."""
    text = format_value(
        kind=fact.kind,
        base_unit=fact.base_unit,
        value_base=fact.value_base,
        value_submitted=fact.value_submitted,
        unit_submitted=fact.unit_submitted,
        qualifier=fact.qualifier,
    )
    if text is not None and fact.is_demo_data:
        text += DEMO_MARK
    return text


def level_clause(
    fact: BriefFact, name: str | None = None, *, ytd_word: bool = True, neutral: bool = False
) -> str | None:
    """'手机银行客户数达到3.85亿户'; YTD KPIs say 累计 once: '交易金额累计达到31.5万亿元'.

    `neutral` says '为' instead of '达到', for figures where more is not better (不良率为1.37%).
    """
    value = value_text(fact)
    if value is None:
        return None
    name = name if name is not None else fact.kpi_name_zh
    if ytd_word and fact.is_ytd and "累计" not in name:
        name += "累计"
    verb = "" if fact.qualifier in _REPLACES_REACHED else ("为" if neutral else "达到")
    return f"{name}{verb}{value}"


def change_clause(fact: BriefFact, which: str = "yoy") -> str | None:
    """'同比增长17.7%', '与去年同期增长25.4%', '同比提升10个百分点', '环比持平' or None;
    '环比增长3.2%＊' when the comparison rests on demonstration data."""
    change = fact.yoy_change if which == "yoy" else fact.mom_change
    uses_demo_data = fact.yoy_uses_demo_data if which == "yoy" else fact.mom_uses_demo_data
    if change is None or fact.change_unit not in ("rate", "pp"):
        return None
    if which == "yoy":
        prefix = "与去年同期" if fact.is_ytd else "同比"
    elif which == "mom":
        prefix = "环比"
    else:
        raise ValueError(f"which must be 'yoy' or 'mom', got {which!r}")
    change = Decimal(change)
    if fact.change_unit == "rate":
        magnitude = format_rate_change(change, fact.change_decimals)
        flat = magnitude == "0%"
        rise, fall = "增长", "下降"
    else:
        magnitude = format_points(change)
        flat = magnitude == "0个百分点"
        # A ratio rises by points (提升); a growth rate of an amount grows by points (增长).
        rise, fall = ("提升", "下降") if fact.kind == "ratio" else ("增长", "下降")
    mark = DEMO_MARK if uses_demo_data else ""
    if flat:
        return f"{prefix}持平{mark}"
    return f"{prefix}{rise if change > 0 else fall}{magnitude}{mark}"


def peer_group(peer_count: int | None) -> str:
    """'四行' for the four big banks (the page's word), else 'N家同业'."""
    if peer_count == 4:
        return "四行"
    if peer_count:
        return f"{chinese_ordinal(peer_count)}家同业"
    return "同业"


def rank_clause(fact: BriefFact) -> str | None:
    """'居四行首位', '并列四行首位', '居四行第二位' or None."""
    if fact.peer_rank is None or fact.peer_rank < 1:
        return None
    group = peer_group(fact.peer_count)
    if fact.peer_rank == 1:
        if fact.lead_over_runner_up is not None and Decimal(fact.lead_over_runner_up) == 0:
            return f"并列{group}首位"
        return f"居{group}首位"
    return f"居{group}第{chinese_ordinal(fact.peer_rank)}位"


def lead_clause(fact: BriefFact) -> str | None:
    """'领先第二名建行1762万户' for a first place with a positive lead over a named runner-up."""
    if (
        fact.peer_rank != 1
        or fact.lead_over_runner_up is None
        or Decimal(fact.lead_over_runner_up) <= 0
        or not fact.runner_up_short_name
    ):
        return None
    lead = format_quantity(fact.kind, fact.base_unit, fact.lead_over_runner_up)
    return f"领先第二名{fact.runner_up_short_name}{lead}"


@dataclass(frozen=True)
class DirectionThresholds:
    """When a theme's 同比 moves earn a judgement (config/briefs.yaml: judgements)."""

    min_kpis: int = 2  # KPIs with a 同比 before the theme is judged at all
    rising_share: Decimal = Decimal("0.75")  # share that rose (or fell) for 提升 (回落)
    strong_median: Decimal = Decimal("10")  # median rise, in % or points, for 显著提升
    flat_below: Decimal = Decimal("1")  # every move under this, in % or points: 保持稳定


@dataclass(frozen=True)
class ArticleRules:
    """Per line of business: which facts sit inside others' sentences and how they read."""

    lob_name_zh: str = ""
    companions: Mapping[str, Sequence[Companion]] = field(default_factory=dict)
    parent_of: Mapping[str, str] = field(default_factory=dict)  # child kpi -> parent kpi
    neutral_verb_kpis: frozenset[str] = frozenset()
    # a theme's name in a judgement ('重点客群渗透' -> '重点客群渗透率'); unnamed: not judged
    theme_subjects: Mapping[str, str] = field(default_factory=dict)
    direction: DirectionThresholds = field(default_factory=DirectionThresholds)


def _common_prefix_stripped(name: str, parent_name: str) -> str:
    """'其中积存金' -> '积存金'; '工银e生活绑卡客户数' under '工银e生活注册客户数' -> '绑卡客户数'."""
    if name.startswith("其中"):
        return name[2:]
    common = 0
    while common < min(len(name), len(parent_name)) and name[common] == parent_name[common]:
        common += 1
    return name[common:] if len(name) - common >= 2 else name


def children_clause(parent: BriefFact, children: Sequence[BriefFact]) -> str | None:
    """'其中积存金16.48吨、如意金积存35.94吨'."""
    items = []
    for child in children:
        value = value_text(child)
        if value is not None:
            items.append(_common_prefix_stripped(child.kpi_name_zh, parent.kpi_name_zh) + value)
    return "其中" + "、".join(items) if items else None


def fact_sentence_parts(
    fact: BriefFact,
    *,
    name: str | None = None,
    companions: Sequence[tuple[Companion, BriefFact]] = (),
    children: Sequence[BriefFact] = (),
    with_change: bool = True,
    neutral: bool = False,
) -> list[str]:
    """The clauses of one fact: level, companions, change, rank, lead, children (missing ones
    left out; nothing at all when the fact has no value)."""
    level = level_clause(fact, name, neutral=neutral)
    if level is None:
        return []
    parts = [level]
    for companion, companion_fact in companions:
        value = value_text(companion_fact)
        if value is not None:
            parts.append(f"{companion.label}{value}")
    if with_change:
        change = change_clause(fact, "yoy")
        if change:
            parts.append(change)
    for clause in (rank_clause(fact), lead_clause(fact), children_clause(fact, children)):
        if clause:
            parts.append(clause)
    return parts


def short_name(fact: BriefFact, lob_name_zh: str) -> str:
    """Drop the line-of-business prefix once the sentence has named it: '业务笔数累计'."""
    name = fact.kpi_name_zh
    if lob_name_zh and name.startswith(lob_name_zh) and len(name) > len(lob_name_zh) + 1:
        return name[len(lob_name_zh) :]
    return name


def join_sentences(clause_groups: Iterable[Sequence[str]], opener: str = "") -> str:
    """Clause groups into sentences: a group of three or more clauses (a figure with its
    comparison, rank or lead) stands alone; short groups share a sentence, '；'-separated,
    at most three to a sentence. `opener` starts the first sentence."""
    sentences: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            sentences.append("；".join(pending) + "。")
            pending.clear()

    for group in clause_groups:
        if not group:
            continue
        text = "，".join(group)
        if len(group) >= 3:
            flush()
            sentences.append(text + "。")
            continue
        pending.append(text)
        if len(pending) == _MAX_CLAUSES_PER_SENTENCE:
            flush()
    flush()
    if sentences and opener:
        sentences[0] = opener + sentences[0]
    return "".join(sentences)


def _visible(facts: Iterable[BriefFact]) -> list[BriefFact]:
    """Rank rows are folded into the ranked KPI; they are not sentences of their own."""
    return sorted(
        (f for f in facts if f.kind != "rank" and value_text(f) is not None),
        key=lambda f: (f.display_order, f.kpi_code),
    )


class _Writer:
    """Writes an article's paragraphs, each fact at most once."""

    def __init__(self, facts: Sequence[BriefFact], rules: ArticleRules):
        self.rules = rules
        self.facts = _visible(facts)
        self.by_code = {f.kpi_code: f for f in self.facts}
        self.used: set[str] = set()
        self.month_end_said = False  # a paragraph has dated the point-in-time figures
        self.children: dict[str, list[BriefFact]] = {}
        for f in self.facts:
            parent = rules.parent_of.get(f.kpi_code)
            if parent in self.by_code:
                self.children.setdefault(parent, []).append(f)

    def is_free(self, fact: BriefFact) -> bool:
        return fact.kpi_code not in self.used and (
            self.rules.parent_of.get(fact.kpi_code) not in self.by_code
        )

    def parts(self, fact: BriefFact, name: str | None = None) -> list[str]:
        companions = [
            (c, self.by_code[c.kpi_code])
            for c in self.rules.companions.get(fact.kpi_code, ())
            if c.kpi_code in self.by_code
        ]
        children = self.children.get(fact.kpi_code, [])
        self.used.update([fact.kpi_code, *(c.kpi_code for _, c in companions)])
        self.used.update(c.kpi_code for c in children)
        return fact_sentence_parts(
            fact,
            name=name,
            companions=companions,
            children=children,
            neutral=fact.kpi_code in self.rules.neutral_verb_kpis,
        )


def lead_paragraph(facts: Sequence[BriefFact], rules: ArticleRules | None = None) -> str | None:
    """The article's lead from its point-in-time headline facts:
    '截至6月末，手机银行客户数达到3.85亿户，市场占比30%，居四行首位，领先第二名建行1762万户。'"""
    return _lead(_Writer(facts, rules or ArticleRules()))


def _lead(writer: _Writer) -> str | None:
    headline = [f for f in writer.facts if f.is_headline and not f.is_ytd and writer.is_free(f)]
    if not headline:
        return None
    groups = [writer.parts(f) for f in headline]
    writer.month_end_said = True
    opener = _period(headline[0]).month_end_zh + "，"
    return join_sentences(groups, opener=opener) or None


def ytd_paragraph(facts: Sequence[BriefFact], rules: ArticleRules | None = None) -> str | None:
    """'上半年，手机银行交易金额累计达到31.5万亿元，与去年同期增长25.4%；业务笔数累计达到
    369.0亿笔，与去年同期增长21.8%。'"""
    return _ytd(_Writer(facts, rules or ArticleRules()))


def _ytd(writer: _Writer) -> str | None:
    ytd = [f for f in writer.facts if f.is_ytd and writer.is_free(f)]
    return _ytd_sentence(writer, ytd)


def _ytd_sentence(writer: _Writer, ytd: list[BriefFact]) -> str | None:
    if not ytd:
        return None
    ytd = sorted(ytd, key=lambda f: (not f.is_headline, f.display_order, f.kpi_code))
    groups = []
    for index, fact in enumerate(ytd):
        name = fact.kpi_name_zh if index == 0 else short_name(fact, writer.rules.lob_name_zh)
        groups.append(writer.parts(fact, name=name))
    # Cumulative figures pair up ('……；……。') the way the page prints them.
    text = "；".join("，".join(g) for g in groups if g)
    return f"{_period(ytd[0]).year_to_date_zh}，{text}。" if text else None


def _period(fact: BriefFact) -> Period:
    return Period(fact.period.year, fact.period.month)


def _merit_move(fact: BriefFact) -> Decimal | None:
    """The 同比 in % or points, positive when it is good news (a falling 不良率 is)."""
    if fact.yoy_change is None or fact.change_unit not in ("rate", "pp"):
        return None
    move = Decimal(fact.yoy_change) * (100 if fact.change_unit == "rate" else 1)
    return move if fact.higher_is_better else -move


def theme_direction(facts: Sequence[BriefFact], thresholds: DirectionThresholds) -> str | None:
    """显著提升 / 稳步提升 / 保持稳定 / 有所回落 from the theme's 同比 moves, or None when
    fewer than `min_kpis` have one, any printed KPI lacks one, or the moves disagree."""
    moves = [_merit_move(f) for f in facts]
    if len(moves) < thresholds.min_kpis or any(m is None for m in moves):
        return None
    if all(abs(m) < thresholds.flat_below for m in moves):
        return "保持稳定"
    rose = Decimal(sum(m > 0 for m in moves)) / len(moves)
    fell = Decimal(sum(m < 0 for m in moves)) / len(moves)
    if rose >= thresholds.rising_share:
        strong = statistics.median(moves) >= thresholds.strong_median
        return "显著提升" if strong else "稳步提升"
    if fell >= thresholds.rising_share:
        return "有所回落"
    return None


def _theme(writer: _Writer, theme: str) -> str | None:
    """One theme's paragraph: a judgement where the data earns one, then its year-to-date
    figures under the span the month closes, then its point-in-time figures, dated 截至N月末
    after a judgement or where no paragraph before has dated them."""
    members = [f for f in writer.facts if f.theme == theme and writer.is_free(f)]
    if not members:
        return None
    direction = None
    if theme in writer.rules.theme_subjects:
        direction = theme_direction(members, writer.rules.direction)
    ytd = [f for f in members if f.is_ytd]
    text = _ytd_sentence(writer, ytd) or ""
    groups = [writer.parts(f) for f in members if not f.is_ytd]
    dated = not text and (direction is not None or not writer.month_end_said)
    opener = _period(members[0]).month_end_zh + "，" if dated else ""
    writer.month_end_said = writer.month_end_said or dated
    text += join_sentences(groups, opener=opener)
    if text and direction:
        text = f"{writer.rules.theme_subjects[theme]}{direction}，{text}"
    return text or None


def _themes_in_order(writer: _Writer) -> list[str]:
    """The themes of the facts not yet written, in the catalogue's order of their first KPI."""
    themes: list[str] = []
    for fact in writer.facts:
        if fact.theme and fact.theme not in themes and writer.is_free(fact):
            themes.append(fact.theme)
    return themes


def _others(writer: _Writer) -> str | None:
    rest = [f for f in writer.facts if writer.is_free(f)]
    if not rest:
        return None
    return join_sentences([writer.parts(f) for f in rest], opener="其他主要指标方面，") or None


def article_paragraphs(facts: Sequence[BriefFact], rules: ArticleRules) -> list[str]:
    """Lead (point-in-time headline figures), one paragraph per theme in the catalogue's
    order, the cumulative figures without a theme, then everything else."""
    writer = _Writer(facts, rules)
    paragraphs = [_lead(writer)]
    paragraphs += [_theme(writer, theme) for theme in _themes_in_order(writer)]
    paragraphs += [_ytd(writer), _others(writer)]
    return [p for p in paragraphs if p]


def lead_sentence(lead: str) -> str:
    """The first sentence of a lead paragraph, with its '截至6月末，' opener and full stop:
    '截至6月末，手机银行客户数达到3.85亿户，市场占比30%，居四行首位，领先第二名建行1762万户。'"""
    end = lead.find("。")
    return lead if end < 0 else lead[: end + 1]
