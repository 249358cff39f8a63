"""Numbers in the departments' highlights, checked against the figures they submitted.

A highlight is the department's own text and is printed as written; where it names a KPI
and gives a figure for it, the figure must be the month's. A disagreement becomes a render
warning, and the quality gate holds the send on any render warning.

Rules (one function each):
- claim:     a KPI's name (its full or short catalogue name, the longest that fits), then
             within `MAX_GAP` characters a number in a unit of that KPI ('手机银行客户数
             达到3.9亿户', '不良率1.37%'); a gap holding a change word ('同比增长12%') or a
             clause break is not a claim about the level (`find_claims`);
- unit:      the number is read in the unit written, one of the units seed's units of the
             KPI's base unit ('3.9亿户' is 390,000,000 户; '82.5%' of a ratio is 0.825), and
             the figure is compared in that unit (`_units_of`, `agrees`);
- agreement: without a qualifier the figure, rounded to the decimals written, is the
             number ('3.85亿户' written '3.9亿户' agrees); '超过'/'突破'/'逾' before the
             number or '余'/'多' after it ('3000余个') need the figure at or above the
             number and within `QUALIFIER_SPAN` of it; '近'/'接近'/'将近' at or below it
             and within the span (`agrees`);
- scope:     only the line of business's own facts of the month, reporting bank only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from strategy_briefs.briefs.facts import BriefFact, BriefHighlight
from strategy_briefs.briefs.numbers import format_value
from strategy_briefs.catalogue import Unit

MAX_GAP = 6  # characters between a KPI's name and its figure ('达到', '已超过')
QUALIFIER_SPAN = Decimal("0.2")  # '超过4800亿元' claims at most 20% more
# Between a name and a number these make the number a change, not the level.
_CHANGE_WORDS = ("同比", "环比", "增长", "增加", "提升", "上升", "下降", "减少", "较")
_AT_LEAST_BEFORE = ("超过", "突破", "逾")
_AT_LEAST_AFTER = ("余", "多")
_AT_MOST_BEFORE = ("将近", "接近", "近")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Claim:
    fact: BriefFact
    text: str  # as written, '手机银行客户数达到3.9亿户'
    number: Decimal  # as written, 3.9
    unit: Unit  # as written, 亿户
    bound: str  # 'equal' | 'at_least' | 'at_most'


def _names(facts: Sequence[BriefFact]) -> list[tuple[str, BriefFact]]:
    """Every name a fact may be called by, longest first (so '手机银行客户数' beats '客户数')."""
    named = [(f.kpi_name_zh, f) for f in facts if f.kind != "rank"]
    named += [(f.kpi_short_name_zh, f) for f in facts if f.kind != "rank" and f.kpi_short_name_zh]
    return sorted(named, key=lambda pair: -len(pair[0]))


def _units_of(fact: BriefFact, units: Mapping[str, Unit]) -> list[Unit]:
    """The units a figure of this KPI may be written in, longest first ('万亿元' before '亿元')."""
    fitting = [u for u in units.values() if u.base_unit == fact.base_unit and u.kind == fact.kind]
    return sorted(fitting, key=lambda u: -len(u.unit))


def _bound(gap: str, trailing: str) -> str:
    if trailing or gap.endswith(_AT_LEAST_BEFORE):
        return "at_least"
    if gap.endswith(_AT_MOST_BEFORE):
        return "at_most"
    return "equal"


def _claim_at(
    text: str, start: int, end: int, fact: BriefFact, units: Mapping[str, Unit]
) -> tuple[Claim, int] | None:
    """The claim whose name is text[start:end], and where it ends; None without a figure."""
    number = _NUMBER.search(text, end, end + MAX_GAP + 1)
    if number is None:
        return None
    gap = text[end : number.start()]
    if any(word in gap for word in _CHANGE_WORDS) or re.search(r"[，。；、,;]", gap):
        return None
    rest = text[number.end() :]
    trailing = next((word for word in _AT_LEAST_AFTER if rest.startswith(word)), "")
    rest = rest[len(trailing) :]
    unit = next((u for u in _units_of(fact, units) if rest.startswith(u.unit)), None)
    if unit is None:
        return None
    stop = number.end() + len(trailing) + len(unit.unit)
    claim = Claim(fact, text[start:stop], Decimal(number.group()), unit, _bound(gap, trailing))
    return claim, stop


def find_claims(body: str, facts: Sequence[BriefFact], units: Mapping[str, Unit]) -> list[Claim]:
    """Every claim in a highlight's text, left to right; a name is read once, longest first."""
    names = _names(facts)
    claims: list[Claim] = []
    position = 0
    while position < len(body):
        match = next(((n, f) for n, f in names if n and body.startswith(n, position)), None)
        if match is None:
            position += 1
            continue
        name, fact = match
        found = _claim_at(body, position, position + len(name), fact, units)
        if found is None:
            position += len(name)
            continue
        claims.append(found[0])
        position = found[1]
    return claims


def agrees(claim: Claim) -> bool:
    """Whether the month's figure is what the claim says, in the claim's own precision."""
    if claim.fact.value_base is None:
        return False
    figure = claim.fact.value_base / claim.unit.factor
    if claim.bound == "at_least":
        return claim.number <= figure <= claim.number * (1 + QUALIFIER_SPAN)
    if claim.bound == "at_most":
        return claim.number * (1 - QUALIFIER_SPAN) <= figure <= claim.number
    exponent = claim.number.as_tuple().exponent
    step = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    return figure.quantize(step, rounding=ROUND_HALF_UP) == claim.number


@dataclass(frozen=True)
class Disagreement:
    lob_code: str
    item_no: int
    message: str  # a render warning, for the quality gate's reasons


def disagreements(
    highlights: Sequence[BriefHighlight],
    facts: Sequence[BriefFact],
    units: Mapping[str, Unit],
) -> list[Disagreement]:
    """One per claim that disagrees with the submitted figure."""
    found = []
    for item in highlights:
        own = [f for f in facts if f.lob_code == item.lob_code and not f.branch_name]
        for claim in find_claims(f"{item.opener or ''}{item.body}", own, units):
            if agrees(claim):
                continue
            figure = format_value(
                kind=claim.fact.kind,
                base_unit=claim.fact.base_unit,
                value_base=claim.fact.value_base,
                value_submitted=claim.fact.value_submitted,
                unit_submitted=claim.fact.unit_submitted,
                qualifier=claim.fact.qualifier,
            )
            message = (
                f"highlights of {item.lob_code}, item {item.item_no}: '{claim.text}' disagrees "
                f"with the submitted {claim.fact.kpi_code} ({claim.fact.kpi_name_zh}) of {figure}"
            )
            found.append(Disagreement(item.lob_code, item.item_no, message))
    return found
