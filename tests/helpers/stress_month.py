"""A generated stress month for the layout rules: every KPI of the demo month plus eight
more per line of business, each with the longest short name the catalogue allows and a long
full name, the widest figures, every comparison present and marked as demonstration data,
and a first place with a lead wherever a rank can be, and the longest highlights the
contract allows. Not a real month."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from strategy_briefs.briefs.facts import BriefFact, BriefHighlight, HistoryPoint
from strategy_briefs.catalogue import MAX_SHORT_NAME_CHARS
from strategy_briefs.ingest.highlights import MAX_ITEMS, MAX_OPENER, MAX_TOTAL
from strategy_briefs.periods import Period
from tests.helpers.demo_facts import brief_fact_key, demo_facts, demo_history, fact

EXTRA_PER_LOB = 8
LONG_NAME = "重点客群线上渠道综合服务覆盖"  # cut to the limit below
LOBS = ("mobile_banking", "credit_card", "precious_metals", "private_banking")


def _widest(f: BriefFact) -> BriefFact:
    wide = dict(
        mom_change=Decimal("-0.1234"),
        yoy_change=Decimal("0.4321"),
        change_unit="pp" if f.kind == "ratio" else "rate",
        mom_uses_demo_data=True,
        yoy_uses_demo_data=True,
        peer_rank=1,
        peer_rank_source="computed",
        peer_count=4,
        runner_up_bank_code="ccb",
        runner_up_short_name="建行",
        lead_over_runner_up=Decimal("12345678"),
        is_demo_data=True,
    )
    if f.kind == "ratio":
        wide["yoy_change"], wide["mom_change"] = Decimal("10.41"), Decimal("-0.07")
    return replace(f, **wide)


def _extra(lob: str, template: BriefFact, n: int) -> BriefFact:
    short = f"{n}{LONG_NAME}"[:MAX_SHORT_NAME_CHARS]
    return replace(
        template,
        brief_fact_key=brief_fact_key(Period.of(template.period), lob, f"stress_{n}"),
        lob_code=lob,
        kpi_code=f"stress_{lob}_{n}",
        kpi_name_zh=f"{LONG_NAME}{LONG_NAME}渗透率{n}",
        kpi_short_name_zh=short,
        display_order=900 + n,
        is_headline=False,
    )


def stress_facts() -> list[BriefFact]:
    facts = [_widest(f) for f in demo_facts()]
    ratio = fact("mb_pen_credit_card", "99.99", "%")
    for lob in LOBS:
        facts += [_widest(_extra(lob, ratio, n)) for n in range(1, EXTRA_PER_LOB + 1)]
    return facts


def stress_history(facts: list[BriefFact]) -> list[HistoryPoint]:
    return demo_history(facts)


def longest_highlights(facts: list[BriefFact]) -> list[BriefHighlight]:
    """Six items per line of business, openers and texts together as long as the contract
    allows (MAX_TOTAL), the openers as long as allowed; plain text without figures."""
    month = facts[0].period
    per_item = MAX_TOTAL // MAX_ITEMS
    opener = "要点句" * (MAX_OPENER // 3)
    opener = opener[: min(MAX_OPENER, per_item - 10)]
    return [
        BriefHighlight(month, lob, n, opener, "正文" * ((per_item - len(opener)) // 2))
        for lob in LOBS
        for n in range(1, MAX_ITEMS + 1)
    ]
