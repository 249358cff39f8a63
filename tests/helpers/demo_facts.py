"""Brief facts of June 2020 built from the published special-edition page: its figures and
what it says of them come from the demo's published_figures.csv
(`strategy_briefs_demo.published`); the made-up rest (branches below the page's, a 环比,
the history) is here.

Catalogue attributes (name, kind, unit, headline, YTD, order) come from the dbt seed, so
these facts look exactly like rows of marts.brief_facts.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from decimal import Decimal

from strategy_briefs.briefs.facts import BriefFact, BriefHighlight, HistoryPoint
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.periods import Period
from strategy_briefs_demo.published import read_page

PERIOD = Period(2020, 6)
MONTH = PERIOD.first_day
SEEDS = PROJECT_ROOT / "dbt_project" / "seeds"
INCOMING = PROJECT_ROOT / "data" / "incoming"  # the bundled sample submissions


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


CATALOGUE = {row["kpi_code"]: row for row in _seed("kpi_catalogue.csv")}
RANKED = {row["ranks_kpi_code"] for row in CATALOGUE.values() if row["ranks_kpi_code"]}
UNIT_FACTORS = {row["unit"]: Decimal(row["factor"]) for row in _seed("units.csv")}
BANKS = {row["bank_code"]: row for row in _seed("peer_banks.csv")}


def fact(
    kpi_code: str,
    value_submitted: str | None,
    unit_submitted: str | None,
    **overrides,
) -> BriefFact:
    row = CATALOGUE[kpi_code]
    value_base = (
        Decimal(value_submitted) * UNIT_FACTORS[unit_submitted]
        if value_submitted is not None and unit_submitted is not None
        else None
    )
    values = dict(
        brief_fact_key=f"{PERIOD}|{row['lob_code']}|{kpi_code}",
        period=MONTH,
        lob_code=row["lob_code"],
        kpi_code=kpi_code,
        kpi_name_zh=row["name_zh"],
        kpi_short_name_zh=row["short_name_zh"],
        kind=row["kind"],
        base_unit=row["base_unit"],
        display_order=int(row["display_order"]),
        is_headline=row["is_headline"] == "true",
        is_ytd=row["is_ytd"] == "true",
        value_base=value_base,
        value_submitted=value_submitted,
        unit_submitted=unit_submitted,
        qualifier=None,
        mom_change=None,
        yoy_change=None,
        change_unit=None,
        peer_rank=None,
        peer_rank_source=None,
        peer_count=None,
        runner_up_bank_code=None,
        runner_up_short_name=None,
        lead_over_runner_up=None,
        is_demo_data=False,
        change_decimals=int(row["change_decimals"]),
        higher_is_better=row["higher_is_better"] == "true",
        theme=row["theme"] or None,
        change_round_step=Decimal(row["change_round_step"]) if row["change_round_step"] else None,
        is_rank_expected=kpi_code in RANKED,
        lob_expected_rank_count=sum(
            CATALOGUE[code]["lob_code"] == row["lob_code"] for code in RANKED
        ),
    )
    values.update(overrides)
    return BriefFact(**values)


def first_of_four(lead: str, source: str = "reported", bank: str = "ccb") -> dict:
    return dict(
        peer_rank=1,
        peer_rank_source=source,
        peer_count=4,
        runner_up_bank_code=bank,
        runner_up_short_name=BANKS[bank]["short_name_zh"],
        lead_over_runner_up=Decimal(lead),
    )


# What the hand-built month adds to the page: 5月 is synthetic in the bundled sample, June
# published, so the monthly-active 环比 is demonstration data.
_MADE_UP = {"mb_monthly_active": dict(mom_change=Decimal("0.012"), mom_uses_demo_data=True)}


def demo_facts() -> list[BriefFact]:
    """The page's figures of the reporting bank (published_figures.csv) as June 2020's brief
    facts: the page as one month (its end-of-July precious-metals figures too), each with
    what the page says of it: its 同比, its rank and lead, its change since a month."""
    page = read_page()
    rank_of = {kpi.ranks_kpi_code: code for code, kpi in page.catalogue.kpis.items()}
    facts = [
        fact(
            figure.kpi_code,
            figure.text,
            figure.unit,
            qualifier=figure.qualifier,
            **_page_says(page, figure.kpi_code, rank_of.get(figure.kpi_code)),
            **_MADE_UP.get(figure.kpi_code, {}),
        )
        for figure in page.figures()
        if figure.entity == "icbc" and page.catalogue.kpis[figure.kpi_code].kind != "rank"
    ]
    return [*facts, *branch_facts()]


def _page_says(page, kpi_code: str, rank_kpi: str | None) -> dict:
    """A fact's fields from what the page says of its figure besides the figure itself."""
    said: dict = {}
    rate, points = page.stated(kpi_code, "yoy_rate"), page.stated(kpi_code, "yoy_pp")
    if rate is not None:
        said.update(yoy_change=rate.value / 100, change_unit="rate")
    if points is not None:
        said.update(yoy_change=points.value, change_unit="pp")
    rank = page.stated(rank_kpi, "figure") if rank_kpi else None
    if rank is not None:
        said.update(peer_rank=int(rank.value), peer_rank_source="reported", peer_count=4)
    lead = page.stated(kpi_code, "lead")
    if lead is not None:
        said.update(first_of_four(str(lead.value * UNIT_FACTORS[lead.unit]), bank=lead.versus))
    change = page.stated(kpi_code, "change_since")
    if change is not None:
        said.update(
            since_month=Period.parse(change.versus).month,
            change_since_month_base=change.value * UNIT_FACTORS[change.unit],
        )
    return said


def branch_fact(kpi_code, branch, value, unit, rank, count, **overrides) -> BriefFact:
    """A branch's row of brief_facts: its key ends '|<branch>'."""
    base = fact(kpi_code, value, unit, branch_name=branch, branch_rank=rank, branch_count=count)
    return replace(base, brief_fact_key=f"{base.brief_fact_key}|{branch}", **overrides)


# (branch, June 2020 clients, increase since December): made up, so that 广东, 北京, 浙江 hold
# 1万 and 江苏, 广东, 山东, 浙江, 北京 added over 1000, as the page says (the sample's figures)
BRANCH_CLIENTS = [
    ("广东", 13210, 1366),
    ("北京", 12180, 1025),
    ("浙江", 10460, 1161),
    ("江苏", 9630, 1516),
    ("上海", 8870, 508),
    ("山东", 7120, 1285),
]

# Below each branch figure the page publishes (the first branch), two made-up branches.
BRANCHES_BELOW = {
    "pb_branch_fx_asset_penetration": [("北京", "41"), ("广东", "37")],
    "pb_branch_credit_card_coverage": [("上海", "66"), ("江苏", "61")],
    "pb_branch_rongex_coverage": [("浙江", "91"), ("广东", "88")],
    "pb_branch_inclusive_drawdown_cum": [("江苏", "27.3"), ("广东", "24.1")],
}


def branch_facts() -> list[BriefFact]:
    by_increase = sorted(BRANCH_CLIENTS, key=lambda b: -b[2])
    rows = [
        branch_fact(
            "pb_branch_clients",
            branch,
            str(clients),
            "户",
            rank,
            len(BRANCH_CLIENTS),
            branch_increase_rank=by_increase.index((branch, clients, rise)) + 1,
            change_since_year_start_base=Decimal(rise),
            is_demo_data=True,
            branch_rank_uses_demo_data=True,
        )
        for rank, (branch, clients, rise) in enumerate(BRANCH_CLIENTS, start=1)
    ]
    page = read_page()
    for kpi_code, below in BRANCHES_BELOW.items():
        [published] = [f for f in page.figures() if f.kpi_code == kpi_code]
        branches = [(published.entity.removeprefix("branch:"), published.text), *below]
        for rank, (branch, value) in enumerate(branches, start=1):
            rows.append(
                branch_fact(
                    kpi_code,
                    branch,
                    value,
                    published.unit,
                    rank,
                    len(branches),
                    is_demo_data=rank != 1,
                    branch_rank_uses_demo_data=True,
                )
            )
    return rows


def demo_history(facts: list[BriefFact], months: int = 24) -> list[HistoryPoint]:
    """Seeded, labelled-as-demo history for the headline KPIs, and 建行/农行/中行 for two KPIs."""
    points = []
    for f in facts:
        if not f.is_headline or f.value_base is None:
            continue
        for back in range(months):
            month = PERIOD.shift(-back).first_day
            # A steady made-up climb to the published value; the month itself is published.
            value = f.value_base * (Decimal(1) - Decimal("0.012") * back)
            points.append(
                HistoryPoint(month, f.lob_code, f.kpi_code, "bank", "icbc", value, None, back != 0)
            )
    peers = {
        "mb_customers": {
            "ccb": Decimal("367380000"),
            "abc": Decimal("330000000"),
            "boc": Decimal("210000000"),
        },
        "mb_monthly_active": {
            "ccb": Decimal("74010000"),
            "abc": Decimal("61000000"),
            "boc": Decimal("40000000"),
        },
    }
    for kpi_code, banks in peers.items():
        for bank, value in banks.items():
            # 建行 is derived from the page; 农行 and 中行 are made up.
            points.append(
                HistoryPoint(
                    MONTH, "mobile_banking", kpi_code, "bank", bank, value, None, bank != "ccb"
                )
            )
    return points


def with_changes(f: BriefFact, **changes) -> BriefFact:
    return replace(f, **changes)


def demo_highlights(period: Period = PERIOD) -> list[BriefHighlight]:
    """The sample month's highlights as marts.brief_highlights holds them after its load."""
    from strategy_briefs.catalogue import load_catalogue
    from strategy_briefs.ingest.highlights import check_month_highlights

    month = period.first_day
    checks = check_month_highlights(INCOMING, str(period), load_catalogue(SEEDS))
    assert all(not check.problems for check in checks), [c.problems for c in checks]
    return [
        BriefHighlight(month, check.lob_code, item.item_no, item.opener, item.text)
        for check in checks
        for item in check.items
    ]
