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
- change step: where the catalogue gives a KPI a change_round_step, a 同比 rise of at least
            one step reads rounded down to the step with 以上 ('同比提升10个百分点以上'); a
            rise exactly on a step, under one step, or a fall prints as computed
- streak:   '连续6个月增长' (提升 for a ratio, 下降 where less is better) from the months in
            a row the figure moved the good way (dbt: int_kpi_value_runs), from
            `streaks.min_months`; never when this month's 环比 is missing or disagrees, nor
            beside a 同比 that went the other way
- sustained: a judged theme says '持续扩大' instead of 稳步提升 (or of no direction) when at
            least `streaks.min_kpis` KPIs, all point-in-time and more-is-better, each have a
            streak and none fell year on year
- record:   this year's span figure (the rise since December, or the YTD value) highest over
            the years the warehouse holds: '上半年增量达五年来最高水平' from `records.min_years`,
            at most `records.max_years`; '创历史新高' only when the years held reach back to the
            KPI's first year (`records.first_years`); never of a figure that did not grow
            or whose 同比 fell
- rank summary: the lead closes with '手机银行客户数、月均动户数两项指标均稳居四行首位' when every KPI
            the article ranks is first, untied, among the same peers, and every KPI the
            catalogue ranks is there and ranked (`rank_summary.min_kpis` to `max_kpis`)
- since month: a KPI the catalogue compares with a named month of its year (since_month)
            reads '较3月末净增1.19亿美元' ('净减' for a fall, '与3月末持平' for none) after
            its 同比, in the later months of that year only
- branch mark: the branches of a KPI at or above a level, or whose rise this year passes a
            threshold (config: branches.marks), by rank: '广东、北京、浙江分行客户站稳万户'; none
            when no branch qualifies
- branch spotlight: the first branch of each configured KPI (branches.spotlight_kpis):
            '上海分行外汇资产客户渗透率达到58%，排名全行前列', the standing said only when the
            branch is first, untied or not, among at least `spotlight_min_branches` branches
- branch paragraph: after the themes, the marks then the spotlights, under 截至N月末;
            branch figures are written nowhere else
- sentences: at most MAX_SENTENCE_CHARS characters where groups can be split; each sentence
            carries its clauses, their rules and brief_fact_keys (the claims file, trace.py)
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
# A sentence the reader takes in at once; sentences that would run longer split (issue 16).
MAX_SENTENCE_CHARS = 90


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
class StreakThresholds:
    """When months in a row of good moves are worth saying (judgements.streaks)."""

    min_months: int = 3  # '连续3个月增长' from this many months
    min_kpis: int = 2  # point-in-time KPIs a theme needs before it 持续扩大


@dataclass(frozen=True)
class RecordThresholds:
    """When this year's span figure is a record worth saying (judgements.records)."""

    min_years: int = 3  # 'N年来最高' only over at least this many years held
    max_years: int = 5  # the longest span claimed: '五年来'
    # kpi_code -> the year it began: history held back to then is the whole history (创历史新高)
    first_years: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RankSummaryThresholds:
    """When the article sums its ranks up (judgements.rank_summary)."""

    min_kpis: int = 2  # ranked KPIs before '两项指标均稳居四行首位'
    max_kpis: int = 4  # more are not listed by name: no summary (the page sums up three)


@dataclass(frozen=True)
class BranchMark:
    """Branches named together by a threshold (config: branches.marks)."""

    kpi_code: str
    measure: str  # 'level' (the figure) | 'increase' (its rise since the start of the year)
    threshold: Decimal  # in base units
    inclusive: bool  # at least (True) or more than (False) the threshold
    words: str  # what the named branches did: '客户站稳万户'


@dataclass(frozen=True)
class BranchRules:
    """How a line of business writes its branches' figures (config: branches)."""

    branch_word: str = "分行"  # after a branch's name: '上海分行'
    spotlight_kpis: tuple[str, ...] = ()
    spotlight_words: str = ""  # the first branch's standing: '排名全行前列'
    spotlight_min_branches: int = 3  # branches compared before a standing is said
    marks: tuple[BranchMark, ...] = ()


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
    streaks: StreakThresholds = field(default_factory=StreakThresholds)
    records: RecordThresholds = field(default_factory=RecordThresholds)
    rank_summary: RankSummaryThresholds = field(default_factory=RankSummaryThresholds)
    branches: BranchRules = field(default_factory=BranchRules)


@dataclass(frozen=True)
class Clause:
    """A piece of a sentence, the rule that wrote it and the facts it rests on."""

    text: str
    rule: str
    fact_keys: tuple[str, ...]


@dataclass(frozen=True)
class Sentence:
    """One sentence (to its '。') and the clauses it is made of (the claims file's line)."""

    text: str
    clauses: tuple[Clause, ...]

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.rule for c in self.clauses))

    @property
    def fact_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for c in self.clauses for k in c.fact_keys))


@dataclass(frozen=True)
class TracedParagraph:
    sentences: tuple[Sentence, ...]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.sentences)


def _sentence(groups: Sequence[Sequence[Clause]]) -> Sentence:
    """'a，b；c，d。': clauses of a group by '，', groups by '；'."""
    body = "；".join("，".join(c.text for c in g) for g in groups if g)
    return Sentence(body + "。", tuple(c for g in groups for c in g))


def _prepend(sentences: list[Sentence], opener: Sequence[Clause]) -> list[Sentence]:
    """The opener ('截至6月末', '重点客群渗透率显著提升') starts the first sentence."""
    if not sentences or not opener:
        return sentences
    first = sentences[0]
    head = "".join(c.text + "，" for c in opener)
    return [Sentence(head + first.text, (*opener, *first.clauses)), *sentences[1:]]


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


def stepped_change_clause(fact: BriefFact) -> str | None:
    """'同比提升10个百分点以上': a 同比 rise of at least the catalogue's change_round_step,
    rounded down to the step; None for a fall, a rise under one step, a rise exactly on a
    step (it prints as it is) or a KPI the catalogue does not round."""
    step = fact.change_round_step
    if step is None or fact.yoy_change is None or fact.change_unit not in ("rate", "pp"):
        return None
    step = Decimal(step)
    move = Decimal(fact.yoy_change) * (100 if fact.change_unit == "rate" else 1)
    if step <= 0 or move < step:
        return None
    floored = (move // step) * step
    if floored == move:
        return None
    prefix = "与去年同期" if fact.is_ytd else "同比"
    if fact.change_unit == "rate":
        magnitude, rise = format_rate_change(floored / 100, fact.change_decimals), "增长"
    else:
        magnitude = format_points(floored)
        rise = "提升" if fact.kind == "ratio" else "增长"
    mark = DEMO_MARK if fact.yoy_uses_demo_data else ""
    return f"{prefix}{rise}{magnitude}以上{mark}"


def since_month_clause(fact: BriefFact) -> str | None:
    """'较3月末净增1.19亿美元' ('净减' for a fall, '与3月末持平' for none) against the month of
    the year the catalogue names; None without one (before or in that month, or not held)."""
    change = fact.change_since_month_base
    if fact.since_month is None or change is None or fact.period.month <= fact.since_month:
        return None  # in or before the named month there is nothing since it to say
    change = Decimal(change)
    mark = DEMO_MARK if fact.since_month_uses_demo_data else ""
    month_end = f"{fact.since_month}月末"
    if change == 0:
        return f"与{month_end}持平{mark}"
    verb = "净增" if change > 0 else "净减"
    return f"较{month_end}{verb}{format_quantity(fact.kind, fact.base_unit, change)}{mark}"


def branch_mark_clause(facts: Sequence[BriefFact], mark: BranchMark, word: str) -> str | None:
    """'广东、北京、浙江分行客户站稳万户': the branches of `mark.kpi_code` past its threshold,
    in their rank by the measure; None when none is."""
    rows = [f for f in facts if f.branch_name and f.kpi_code == mark.kpi_code]
    if mark.measure == "level":
        measured = [(f.branch_rank, f, f.value_base) for f in rows]
    else:
        measured = [(f.branch_increase_rank, f, f.change_since_year_start_base) for f in rows]
    passed = [
        (rank or 0, f)
        for rank, f, value in measured
        if value is not None
        and (
            Decimal(value) >= mark.threshold if mark.inclusive else Decimal(value) > mark.threshold
        )
    ]
    if not passed:
        return None
    named = [f for _, f in sorted(passed, key=lambda p: (p[0], p[1].branch_name or ""))]
    demo = any(f.is_demo_data or f.branch_rank_uses_demo_data for f in rows)
    names = "、".join(f.branch_name or "" for f in named)
    return f"{names}{word}{mark.words}{DEMO_MARK if demo else ''}"


def branch_standing_clause(fact: BriefFact, rules: BranchRules) -> str | None:
    """'排名全行前列' for the first branch among at least `spotlight_min_branches`."""
    if not rules.spotlight_words or fact.branch_rank != 1:
        return None
    if (fact.branch_count or 0) < rules.spotlight_min_branches:
        return None
    return rules.spotlight_words + (DEMO_MARK if fact.branch_rank_uses_demo_data else "")


def streak_clause(fact: BriefFact, thresholds: StreakThresholds) -> str | None:
    """'连续6个月增长' (提升 for a ratio, 下降 where less is better) from the months in a row
    the figure moved the good way; None under `min_months`, when this month's 环比 is
    missing or disagrees, or the 同比 went the other way (a streak is never said beside a fall)."""
    months = fact.rise_streak_months
    if months is None or months < thresholds.min_months or fact.mom_change is None:
        return None
    mom = Decimal(fact.mom_change)
    if (mom <= 0) if fact.higher_is_better else (mom >= 0):
        return None
    if _fell_year_on_year(fact):
        return None
    if not fact.higher_is_better:
        verb = "下降"
    else:
        verb = "提升" if fact.kind == "ratio" else "增长"
    mark = DEMO_MARK if fact.streak_uses_demo_data else ""
    return f"连续{months}个月{verb}{mark}"


def record_clause(fact: BriefFact, thresholds: RecordThresholds) -> str | None:
    """'上半年增量达五年来最高水平' (point-in-time: the rise since December) or
    '达五年来最高水平' (year-to-date) over the years the warehouse holds, at most
    `max_years`; '创历史新高' only when the years held reach back to the KPI's first year.
    None under `min_years`, or when the figure did not grow (its rise is not positive, or
    its 同比 fell): a record is never said of a fall."""
    years, held = fact.record_years, fact.history_years
    if years is None or held is None or not fact.higher_is_better:
        return None
    span = fact.value_base if fact.is_ytd else fact.change_since_year_start_base
    if span is None or Decimal(span) <= 0:
        return None
    if _fell_year_on_year(fact):
        return None
    subject = "" if fact.is_ytd else f"{Period.of(fact.period).year_to_date_zh}增量"
    mark = DEMO_MARK if fact.record_uses_demo_data else ""
    first_year = thresholds.first_years.get(fact.kpi_code)
    whole_history = first_year is not None and fact.period.year - held + 1 <= first_year
    if years == held and whole_history and years >= 2:
        return f"{subject}创历史新高{mark}"
    if years < thresholds.min_years:
        return None
    return f"{subject}达{_count_word(min(years, thresholds.max_years))}年来最高水平{mark}"


def _fell_year_on_year(fact: BriefFact) -> bool:
    """The 同比 went the bad way (a rising 不良率, a falling count)."""
    move = _merit_move(fact)
    return move is not None and move < 0


def _count_word(n: int) -> str:
    """'两' before a measure word, as Chinese counts: 两项, 三项."""
    return "两" if n == 2 else chinese_ordinal(n)


def rank_summary(
    facts: Sequence[BriefFact], thresholds: RankSummaryThresholds, lob_name_zh: str = ""
) -> str | None:
    """'手机银行客户数、月均动户数两项指标均稳居四行首位' when every ranked KPI of the article is
    first and not tied, among the same peers; None when one the catalogue ranks is missing
    or unranked this month (均 is never said with one missing), when fewer than `min_kpis`
    or more than `max_kpis` are ranked, or the sentence would run past MAX_SENTENCE_CHARS."""
    ranked = [f for f in facts if f.kind != "rank" and (f.peer_rank or f.is_rank_expected)]
    expected = max((f.lob_expected_rank_count for f in facts), default=0)
    if not max(thresholds.min_kpis, 1) <= len(ranked) <= thresholds.max_kpis:
        return None
    if sum(f.is_rank_expected for f in ranked) < expected:
        return None
    for f in ranked:
        lead = f.lead_over_runner_up
        if f.peer_rank != 1 or (lead is not None and Decimal(lead) <= 0):
            return None
    if len({f.peer_count for f in ranked}) != 1:
        return None
    names = "、".join(f.kpi_short_name_zh or f.kpi_name_zh for f in ranked)
    group = peer_group(ranked[0].peer_count)
    summary = f"{lob_name_zh}{names}{_count_word(len(ranked))}项指标均稳居{group}首位"
    return summary if len(summary) < MAX_SENTENCE_CHARS else None


def fact_clauses(
    fact: BriefFact,
    *,
    name: str | None = None,
    companions: Sequence[tuple[Companion, BriefFact]] = (),
    children: Sequence[BriefFact] = (),
    with_change: bool = True,
    neutral: bool = False,
    rules: ArticleRules | None = None,
) -> list[Clause]:
    """The clauses of one fact, each with its rule: level, companions, change, streak, record,
    rank, lead, children (missing ones left out; nothing at all without a value)."""
    rules = rules or ArticleRules()
    level = level_clause(fact, name, neutral=neutral)
    if level is None:
        return []
    key = (fact.brief_fact_key,)
    clauses = [Clause(level, "level", key)]
    for companion, companion_fact in companions:
        value = value_text(companion_fact)
        if value is not None:
            clauses.append(
                Clause(f"{companion.label}{value}", "companion", (companion_fact.brief_fact_key,))
            )
    if with_change:
        stepped = stepped_change_clause(fact)
        change = stepped or change_clause(fact, "yoy")
        if change:
            clauses.append(Clause(change, "change_step" if stepped else "change", key))
        since = since_month_clause(fact)
        if since:
            clauses.append(Clause(since, "since_month", key))
    judged = [
        (streak_clause(fact, rules.streaks), "streak", key),
        (record_clause(fact, rules.records), "record", key),
        (rank_clause(fact), "rank", key),
        (lead_clause(fact), "lead", key),
        (children_clause(fact, children), "children", tuple(c.brief_fact_key for c in children)),
    ]
    clauses += [Clause(text, rule, keys) for text, rule, keys in judged if text]
    return clauses


def short_name(fact: BriefFact, lob_name_zh: str) -> str:
    """Drop the line-of-business prefix once the sentence has named it: '业务笔数累计'."""
    name = fact.kpi_name_zh
    if lob_name_zh and name.startswith(lob_name_zh) and len(name) > len(lob_name_zh) + 1:
        return name[len(lob_name_zh) :]
    return name


def _length(groups: Sequence[Sequence[Clause]]) -> int:
    return len(_sentence(groups).text)


def join_clauses(groups: Iterable[Sequence[Clause]], reserve: int = 0) -> list[Sentence]:
    """Clause groups into sentences: a group of three or more clauses (a figure with its
    comparison, rank or lead) stands alone; short groups share a sentence, '；'-separated,
    at most three to a sentence and never past MAX_SENTENCE_CHARS, the first keeping
    `reserve` characters for the opener it will get."""
    sentences: list[Sentence] = []
    pending: list[Sequence[Clause]] = []

    def flush() -> None:
        if pending:
            sentences.append(_sentence(pending))
            pending.clear()

    for group in groups:
        if not group:
            continue
        if len(group) >= 3:
            flush()
            sentences.append(_sentence([group]))
            continue
        room = MAX_SENTENCE_CHARS - (0 if sentences else reserve)
        if pending and _length([*pending, group]) > room:
            flush()
        pending.append(group)
        if len(pending) == _MAX_CLAUSES_PER_SENTENCE:
            flush()
    flush()
    return sentences


def _visible(facts: Iterable[BriefFact]) -> list[BriefFact]:
    """Rank rows are folded into the ranked KPI; they are not sentences of their own. Branch
    figures are written only in the branch paragraph."""
    return sorted(
        (f for f in facts if f.kind != "rank" and not f.branch_name and value_text(f) is not None),
        key=lambda f: (f.display_order, f.kpi_code),
    )


class _Writer:
    """Writes an article's paragraphs, each fact at most once."""

    def __init__(self, facts: Sequence[BriefFact], rules: ArticleRules):
        self.rules = rules
        self.facts = _visible(facts)
        self.branch_facts = sorted(
            (f for f in facts if f.branch_name and value_text(f) is not None),
            key=lambda f: (f.display_order, f.kpi_code, f.branch_rank or 0, f.branch_name or ""),
        )
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

    def parts(self, fact: BriefFact, name: str | None = None) -> list[Clause]:
        companions = [
            (c, self.by_code[c.kpi_code])
            for c in self.rules.companions.get(fact.kpi_code, ())
            if c.kpi_code in self.by_code
        ]
        children = self.children.get(fact.kpi_code, [])
        self.used.update([fact.kpi_code, *(c.kpi_code for _, c in companions)])
        self.used.update(c.kpi_code for c in children)
        return fact_clauses(
            fact,
            name=name,
            companions=companions,
            children=children,
            neutral=fact.kpi_code in self.rules.neutral_verb_kpis,
            rules=self.rules,
        )


def _reserve(openers: Sequence[Clause | None]) -> int:
    """The characters openers take before a first sentence ('截至6月末，')."""
    return sum(len(c.text) + 1 for c in openers if c is not None)


def _period_clause(text: str, facts: Sequence[BriefFact]) -> Clause:
    return Clause(text, "period", tuple(f.brief_fact_key for f in facts))


def lead_paragraph(facts: Sequence[BriefFact], rules: ArticleRules | None = None) -> str | None:
    """The article's lead from its point-in-time headline facts:
    '截至6月末，手机银行客户数达到3.85亿户，市场占比30%，居四行首位，领先第二名建行1762万户。'"""
    lead = _lead(_Writer(facts, rules or ArticleRules()))
    return lead.text if lead else None


def _lead(writer: _Writer) -> TracedParagraph | None:
    headline = [f for f in writer.facts if f.is_headline and not f.is_ytd and writer.is_free(f)]
    if not headline:
        return None
    opener = _period_clause(Period.of(headline[0].period).month_end_zh, headline)
    sentences = join_clauses((writer.parts(f) for f in headline), _reserve([opener]))
    if not sentences:
        return None
    writer.month_end_said = True
    sentences = _prepend(sentences, [opener])
    summary = rank_summary(writer.facts, writer.rules.rank_summary, writer.rules.lob_name_zh)
    if summary:
        ranked = [f for f in writer.facts if f.peer_rank or f.is_rank_expected]
        keys = tuple(f.brief_fact_key for f in ranked)
        sentences.append(_sentence([[Clause(summary, "rank_summary", keys)]]))
    return TracedParagraph(tuple(sentences))


def ytd_paragraph(facts: Sequence[BriefFact], rules: ArticleRules | None = None) -> str | None:
    """'上半年，手机银行交易金额累计达到31.5万亿元，与去年同期增长25.4%；业务笔数累计达到
    369.0亿笔，与去年同期增长21.8%。'"""
    ytd = _ytd(_Writer(facts, rules or ArticleRules()))
    return ytd.text if ytd else None


def _ytd(writer: _Writer) -> TracedParagraph | None:
    ytd = [f for f in writer.facts if f.is_ytd and writer.is_free(f)]
    sentences = _ytd_sentences(writer, ytd)
    return TracedParagraph(tuple(sentences)) if sentences else None


def _ytd_sentences(writer: _Writer, ytd: list[BriefFact], reserve: int = 0) -> list[Sentence]:
    """Cumulative figures pair up ('……；……。') the way the page prints them, under the span
    the month closes; a pair past MAX_SENTENCE_CHARS splits."""
    if not ytd:
        return []
    ytd = sorted(ytd, key=lambda f: (not f.is_headline, f.display_order, f.kpi_code))
    groups = []
    for index, fact in enumerate(ytd):
        name = fact.kpi_name_zh if index == 0 else short_name(fact, writer.rules.lob_name_zh)
        groups.append(writer.parts(fact, name=name))
    groups = [g for g in groups if g]
    if not groups:
        return []
    opener = _period_clause(Period.of(ytd[0].period).year_to_date_zh, ytd)
    sentences: list[list[Sequence[Clause]]] = [[]]
    for group in groups:
        head = _reserve([opener]) + reserve if len(sentences) == 1 else 0
        if sentences[-1] and _length([*sentences[-1], group]) + head > MAX_SENTENCE_CHARS:
            sentences.append([])
        sentences[-1].append(group)
    return _prepend([_sentence(s) for s in sentences], [opener])


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


def sustained_rise(facts: Sequence[BriefFact], thresholds: StreakThresholds) -> bool:
    """持续扩大: every KPI of the theme is a point-in-time figure where more is better, with a
    streak of at least `min_months`, and none fell year on year; at least `min_kpis` of them."""
    if len(facts) < thresholds.min_kpis:
        return False
    for f in facts:
        if f.is_ytd or not f.higher_is_better or streak_clause(f, thresholds) is None:
            return False
        move = _merit_move(f)
        if move is not None and move < 0:
            return False
    return True


def theme_judgement(members: Sequence[BriefFact], rules: ArticleRules) -> Clause | None:
    """The theme's opener: its direction, or 持续扩大 where every KPI kept rising month after
    month and the direction says no more than 稳步提升 (显著/稳定/回落 say more, or otherwise)."""
    subject = rules.theme_subjects.get(members[0].theme or "")
    if subject is None:
        return None
    keys = tuple(f.brief_fact_key for f in members)
    direction = theme_direction(members, rules.direction)
    if direction in (None, "稳步提升") and sustained_rise(members, rules.streaks):
        return Clause(f"{subject}持续扩大", "sustained", keys)
    if direction is None:
        return None
    return Clause(f"{subject}{direction}", "direction", keys)


def _theme(writer: _Writer, theme: str) -> TracedParagraph | None:
    """One theme's paragraph: a judgement where the data earns one, then its year-to-date
    figures under the span the month closes, then its point-in-time figures, dated 截至N月末
    after a judgement or where no paragraph before has dated them."""
    members = [f for f in writer.facts if f.theme == theme and writer.is_free(f)]
    if not members:
        return None
    judgement = theme_judgement(members, writer.rules)
    ytd = [f for f in members if f.is_ytd]
    sentences = _ytd_sentences(writer, ytd, _reserve([judgement]))
    points = [f for f in members if not f.is_ytd]
    dated = not sentences and (judgement is not None or not writer.month_end_said)
    opener = _period_clause(Period.of(members[0].period).month_end_zh, points) if dated else None
    reserve = 0 if sentences else _reserve([judgement, opener])
    point_sentences = join_clauses((writer.parts(f) for f in points), reserve)
    if opener and point_sentences:
        point_sentences = _prepend(point_sentences, [opener])
        writer.month_end_said = True
    sentences += point_sentences
    if sentences and judgement:
        sentences = _prepend(sentences, [judgement])
    return TracedParagraph(tuple(sentences)) if sentences else None


def _themes_in_order(writer: _Writer) -> list[str]:
    """The themes of the facts not yet written, in the catalogue's order of their first KPI."""
    themes: list[str] = []
    for fact in writer.facts:
        if fact.theme and fact.theme not in themes and writer.is_free(fact):
            themes.append(fact.theme)
    return themes


def _others(writer: _Writer) -> TracedParagraph | None:
    rest = [f for f in writer.facts if writer.is_free(f)]
    if not rest:
        return None
    opener = Clause("其他主要指标方面", "others", tuple(f.brief_fact_key for f in rest))
    sentences = join_clauses((writer.parts(f) for f in rest), _reserve([opener]))
    sentences = _prepend(sentences, [opener])
    return TracedParagraph(tuple(sentences)) if sentences else None


def _branch_marks(writer: _Writer) -> list[Clause]:
    rules = writer.rules.branches
    clauses = []
    for mark in rules.marks:
        text = branch_mark_clause(writer.branch_facts, mark, rules.branch_word)
        if text:
            rows = [f for f in writer.branch_facts if f.kpi_code == mark.kpi_code]
            clauses.append(Clause(text, "branch_mark", tuple(f.brief_fact_key for f in rows)))
    return clauses


def _branch_spotlight(writer: _Writer, fact: BriefFact) -> list[Clause]:
    rules = writer.rules.branches
    name = f"{fact.branch_name}{rules.branch_word}{fact.kpi_short_name_zh or fact.kpi_name_zh}"
    level = level_clause(fact, name)
    if level is None:
        return []
    key = (fact.brief_fact_key,)
    clauses = [Clause(level, "level", key)]
    standing = branch_standing_clause(fact, rules)
    if standing:
        rows = [f for f in writer.branch_facts if f.kpi_code == fact.kpi_code]
        clauses.append(Clause(standing, "branch_spotlight", tuple(f.brief_fact_key for f in rows)))
    return clauses


def _branches(writer: _Writer) -> TracedParagraph | None:
    """The branch paragraph: the marks ('……；……'), then the first branch of each spotlit
    KPI, under 截至N月末."""
    rules = writer.rules.branches
    marks = [[c] for c in _branch_marks(writer)]
    firsts = [
        f for f in writer.branch_facts if f.kpi_code in rules.spotlight_kpis and f.branch_rank == 1
    ]
    spotlights = [g for g in (_branch_spotlight(writer, f) for f in firsts) if g]
    if not marks and not spotlights:
        return None
    opener = _period_clause(
        Period.of(writer.branch_facts[0].period).month_end_zh, writer.branch_facts
    )
    # the marks share a sentence, the spotlights begin their own: two kinds of statement
    sentences = join_clauses(marks, _reserve([opener]))
    sentences += join_clauses(spotlights, 0 if sentences else _reserve([opener]))
    return TracedParagraph(tuple(_prepend(sentences, [opener])))


def traced_article(facts: Sequence[BriefFact], rules: ArticleRules) -> list[TracedParagraph]:
    """Lead (point-in-time headline figures, then the rank summary), one paragraph per theme
    in the catalogue's order, the branches, the cumulative figures without a theme, then
    everything else; each sentence with the rules that wrote it and the facts it rests on."""
    writer = _Writer(facts, rules)
    paragraphs = [_lead(writer)]
    paragraphs += [_theme(writer, theme) for theme in _themes_in_order(writer)]
    paragraphs += [_branches(writer), _ytd(writer), _others(writer)]
    return [p for p in paragraphs if p]


def article_paragraphs(facts: Sequence[BriefFact], rules: ArticleRules) -> list[str]:
    """The texts of `traced_article`."""
    return [p.text for p in traced_article(facts, rules)]


def lead_sentence(lead: str) -> str:
    """The first sentence of a lead paragraph, with its '截至6月末，' opener and full stop:
    '截至6月末，手机银行客户数达到3.85亿户，市场占比30%，居四行首位，领先第二名建行1762万户。'"""
    end = lead.find("。")
    return lead if end < 0 else lead[: end + 1]
