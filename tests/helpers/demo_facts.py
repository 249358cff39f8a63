"""Brief facts of June 2020 built from the published special-edition page: its figures and
what it says of them come from the demo's published_figures.csv
(`strategy_briefs_demo.published`); the made-up rest (the branches below the page's,
`made_up_branches`; a 环比; the history) is made up in the tests.

Catalogue attributes (name, kind, unit, headline, YTD, order) and unit factors come from
the product's catalogue (`strategy_briefs.catalogue`, the dbt seeds), so these facts look
exactly like rows of marts.brief_facts; tests/dbt/test_dbt_marts.py checks their keys
against the ones dbt builds.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from strategy_briefs.briefs.facts import BriefFact, BriefHighlight, HistoryPoint
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import Settings
from strategy_briefs.periods import Period
from strategy_briefs_demo.published import read_page
from tests.helpers.made_up_branches import BRANCH_CLIENTS, BRANCHES_BELOW, CLIENTS_UNIT

PERIOD = Period(2020, 6)
MONTH = PERIOD.first_day
SETTINGS = Settings.from_env()
SEEDS = SETTINGS.seeds_dir
INCOMING = SETTINGS.project_root / "data" / "incoming"  # the bundled sample submissions
CATALOGUE = load_catalogue(SEEDS)
RANKED = {kpi.ranks_kpi_code for kpi in CATALOGUE.kpis.values() if kpi.ranks_kpi_code}


def brief_fact_key(period: Period, lob_code: str, kpi_code: str, branch: str | None = None) -> str:
    """A fact's key as the contract gives it (docs/architecture.md, marts.brief_facts):
    'YYYY-MM|lob_code|kpi_code', a branch's row '|<branch>' more."""
    return "|".join([str(period), lob_code, kpi_code, *([branch] if branch else [])])


def base_value(value_submitted: str | None, unit_submitted: str | None) -> Decimal | None:
    """The submitted figure in base units, by the catalogue's unit."""
    if value_submitted is None or unit_submitted is None:
        return None
    return CATALOGUE.units[unit_submitted].base_value(value_submitted)


def fact(
    kpi_code: str,
    value_submitted: str | None,
    unit_submitted: str | None,
    **overrides,
) -> BriefFact:
    kpi = CATALOGUE.kpis[kpi_code]
    values = dict(
        brief_fact_key=brief_fact_key(PERIOD, kpi.lob_code, kpi_code),
        period=MONTH,
        lob_code=kpi.lob_code,
        kpi_code=kpi_code,
        kpi_name_zh=kpi.name_zh,
        kpi_short_name_zh=kpi.short_name_zh,
        kind=kpi.kind,
        base_unit=kpi.base_unit,
        display_order=kpi.display_order,
        is_headline=kpi.is_headline,
        is_ytd=kpi.is_ytd,
        value_base=base_value(value_submitted, unit_submitted),
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
        change_decimals=kpi.change_decimals,
        higher_is_better=kpi.higher_is_better,
        theme=kpi.theme,
        change_round_step=kpi.change_round_step,
        is_rank_expected=kpi_code in RANKED,
        lob_expected_rank_count=sum(
            CATALOGUE.kpis[code].lob_code == kpi.lob_code for code in RANKED
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
        runner_up_short_name=CATALOGUE.banks[bank].short_name_zh,
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
        said.update(yoy_change=base_value(rate.text, rate.unit), change_unit="rate")
    if points is not None:
        said.update(yoy_change=points.value, change_unit="pp")
    rank = page.stated(rank_kpi, "figure") if rank_kpi else None
    if rank is not None:
        said.update(peer_rank=int(rank.value), peer_rank_source="reported", peer_count=4)
    lead = page.stated(kpi_code, "lead")
    if lead is not None:
        said.update(first_of_four(str(base_value(lead.text, lead.unit)), bank=lead.versus))
    change = page.stated(kpi_code, "change_since")
    if change is not None:
        said.update(
            since_month=Period.parse(change.versus).month,
            change_since_month_base=base_value(change.text, change.unit),
        )
    return said


def branch_fact(kpi_code, branch, value, unit, rank, count, **overrides) -> BriefFact:
    """A branch's row of brief_facts: its key ends '|<branch>'."""
    base = fact(kpi_code, value, unit, branch_name=branch, branch_rank=rank, branch_count=count)
    key = brief_fact_key(PERIOD, base.lob_code, kpi_code, branch)
    return replace(base, brief_fact_key=key, **overrides)


def client_facts(rows, **overrides) -> list[BriefFact]:
    """Branch client facts from (branch, clients in 户, rise since December), in rank order."""
    by_rise = sorted(rows, key=lambda row: -row[2])
    return [
        branch_fact(
            "pb_branch_clients",
            branch,
            str(clients),
            CLIENTS_UNIT,
            rank,
            len(rows),
            branch_increase_rank=by_rise.index((branch, clients, rise)) + 1,
            change_since_year_start_base=Decimal(rise),
            **overrides,
        )
        for rank, (branch, clients, rise) in enumerate(rows, start=1)
    ]


def branch_facts() -> list[BriefFact]:
    rows = client_facts(BRANCH_CLIENTS, is_demo_data=True, branch_rank_uses_demo_data=True)
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


# 农行 and 中行 beside the page's 建行 (the runner-up), made up, in base units.
_PEERS = {
    "mb_customers": {"abc": Decimal("330000000"), "boc": Decimal("210000000")},
    "mb_monthly_active": {"abc": Decimal("61000000"), "boc": Decimal("40000000")},
}


def _runner_up(page, kpi_code: str) -> dict[str, Decimal]:
    """The page's runner-up bank and its figure (the page's figure less its lead)."""
    bank, value = page.runner_up(kpi_code)
    return {bank: base_value(str(value), page.figure(kpi_code).unit)}


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
    page = read_page()
    peers = {
        kpi_code: {**_runner_up(page, kpi_code), **made_up} for kpi_code, made_up in _PEERS.items()
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
    from strategy_briefs.ingest.highlights import check_month_highlights

    month = period.first_day
    checks = check_month_highlights(INCOMING, str(period), CATALOGUE)
    assert all(not check.problems for check in checks), [c.problems for c in checks]
    return [
        BriefHighlight(month, check.lob_code, item.item_no, item.opener, item.text)
        for check in checks
        for item in check.items
    ]
