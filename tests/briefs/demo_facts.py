"""Brief facts built by hand from FIGURES.md (the published special-edition page), June 2020.

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


def first_of_four(lead: str, source: str = "reported") -> dict:
    return dict(
        peer_rank=1,
        peer_rank_source=source,
        peer_count=4,
        runner_up_bank_code="ccb",
        runner_up_short_name="建行",
        lead_over_runner_up=Decimal(lead),
    )


def demo_facts() -> list[BriefFact]:
    D = Decimal
    return [
        # 手机银行
        fact("mb_customers", "3.85", "亿户", **first_of_four("17620000")),
        fact("mb_market_share", "30", "%"),
        fact(
            "mb_monthly_active",
            "7726",
            "万户",
            yoy_change=D("0.177"),
            change_unit="rate",
            mom_change=D("0.012"),
            mom_uses_demo_data=True,  # May is synthetic in the bundled sample, June published
            **first_of_four("3250000"),
        ),
        fact("mb_txn_amount_ytd", "31.5", "万亿元", yoy_change=D("0.254"), change_unit="rate"),
        fact("mb_txn_count_ytd", "369.0", "亿笔", yoy_change=D("0.218"), change_unit="rate"),
        fact("mb_online_share_wealth", "99", "%", qualifier="超过"),
        fact("mb_pen_credit_card", "82.5", "%"),
        fact("mb_pen_managed", "74.09", "%", yoy_change=D("10"), change_unit="pp"),
        fact("mb_pen_payroll", "74.83", "%"),
        fact("mb_pen_in_branch", "60.8", "%"),
        fact("mb_pen_new", "45.58", "%", yoy_change=D("6"), change_unit="pp"),
        fact("mb_personal_customers_total", "6.6", "亿户"),
        # 信用卡
        fact("cc_online_acq_share", "50", "%", qualifier="超过"),
        fact("cc_epay_merchants", "212", "万户"),
        fact("cc_rongejie_balance", "820", "亿元"),
        fact("cc_rongejie_disbursed_cum", "4800", "亿元", qualifier="超过"),
        fact("cc_rongejie_npl", "1.37", "%"),
        fact("cc_rongejie_platforms", "13", "个"),
        fact(
            "cc_elife_registered",
            "7200",
            "万户",
            qualifier="超过",
            peer_rank=1,
            peer_rank_source="reported",
            peer_count=4,
        ),
        fact("cc_elife_bound", "5100", "万户", qualifier="超过"),
        fact("cc_scenarios", "3000", "个", qualifier="余"),
        # 贵金属
        fact("pm_pool_balance", "53.44", "吨"),
        fact("pm_pool_jicunjin", "16.48", "吨"),
        fact("pm_pool_ruyijin", "35.94", "吨"),
        fact(
            "pm_pool_usd",
            "29.85",
            "亿美元",
            since_month=3,
            change_since_month_base=D("119000000"),  # 较3月末净增1.19亿美元 (the page)
        ),
        fact(
            "pm_new_active_accounts_ytd",
            "83",
            "万户",
            # as the warehouse computes it from the derived prior year (83万户÷(1+58.35%))
            yoy_change=D("83") / D("52.4155") - 1,
            change_unit="rate",
        ),
        fact("pm_card_sales", "20", "万件", qualifier="近"),
        fact("pm_retail_sales_ytd", "23", "亿元"),
        fact("pm_fee_income_ytd", "4.01", "亿元", yoy_change=D("21"), change_unit="pp"),
        fact("pm_partner_platforms", "8", "个"),
        # 私人银行
        fact("pb_clients", "10.5", "万户"),
        fact("pb_aum", "1.8", "万亿元"),
        fact(
            "pb_clients_peer",
            "16.9",
            "万户",
            peer_rank=1,
            peer_rank_source="reported",
            peer_count=4,
        ),
        fact("pb_aum_peer", "2.09", "万亿元"),
        fact("pb_fx_clients", "5.2", "万户"),
        fact("pb_fx_penetration", "30", "%", qualifier="超过"),
        *branch_facts(),
    ]


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

# The page's branch figures, first of each, and two made-up branches below it.
BRANCH_FIGURES = {
    "pb_branch_fx_asset_penetration": ("%", [("上海", "58"), ("北京", "41"), ("广东", "37")]),
    "pb_branch_credit_card_coverage": ("%", [("北京", "79"), ("上海", "66"), ("江苏", "61")]),
    "pb_branch_rongex_coverage": ("%", [("江苏", "96"), ("浙江", "91"), ("广东", "88")]),
    "pb_branch_inclusive_drawdown_cum": (
        "亿元",
        [("浙江", "38.6"), ("江苏", "27.3"), ("广东", "24.1")],
    ),
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
    for kpi_code, (unit, branches) in BRANCH_FIGURES.items():
        for rank, (branch, value) in enumerate(branches, start=1):
            rows.append(
                branch_fact(
                    kpi_code,
                    branch,
                    value,
                    unit,
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
