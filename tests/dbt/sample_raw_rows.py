"""A small, known history of raw submissions for exercising the dbt project.

The June 2020 figures are the page's published ones (the demo's published_figures.csv,
read through `strategy_briefs_demo.published`); other months grow back from them, made up
and flagged `is_demo_data`. Run as a script to load them into a scratch database for dev:

    python tests/dbt/sample_raw_rows.py postgresql://postgres@127.0.0.1:5432/sb_dbt_dev
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from strategy_briefs_demo.published import PublishedPage, read_page

PUBLISHED_PERIOD = date(2020, 6, 1)


@dataclass(frozen=True)
class RawFigure:
    period: date
    lob_code: str
    kpi_code: str
    entity_type: str
    entity_code: str
    value_submitted: str
    unit_submitted: str
    value_base: Decimal
    qualifier: str | None = None
    is_demo_data: bool = True


def month_range(first: date, last: date) -> list[date]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _figure(period, lob, kpi, entity, value, unit, factor, qualifier=None, entity_type="bank"):
    value = Decimal(str(value))
    return RawFigure(
        period=period,
        lob_code=lob,
        kpi_code=kpi,
        entity_type=entity_type,
        entity_code=entity,
        value_submitted=format(value, "f"),
        unit_submitted=unit,
        value_base=value * Decimal(str(factor)),
        qualifier=qualifier,
        is_demo_data=period != PUBLISHED_PERIOD,
    )


PAGE = None  # a level whose June 2020 value is the page's (published_figures.csv)

# (kpi, entity, June 2020 value, factor of its unit, monthly growth). PAGE: the page's
# figure, in the unit and with the qualifier it is printed with (建行's: the reporting
# bank's figure less the page's lead); a number: made up, in the page's unit.
_LEVELS = [
    ("mb_customers", "icbc", PAGE, 1e8, 0.004),
    ("mb_customers", "ccb", PAGE, 1e8, 0.004),
    ("mb_customers_rank", "icbc", PAGE, 1, 0),
    ("mb_monthly_active", "icbc", PAGE, 1e4, 0.0137),
    ("mb_monthly_active", "ccb", PAGE, 1e4, 0.0137),
    ("mb_monthly_active_rank", "icbc", PAGE, 1, 0),
    ("mb_pen_managed", "icbc", PAGE, 0.01, 0.0),
    ("mb_pen_new", "icbc", PAGE, 0.01, 0.0),
    ("cc_rongejie_npl", "icbc", PAGE, 0.01, 0.0),
    ("cc_elife_registered", "icbc", PAGE, 1e4, 0.01),
    ("cc_elife_registered", "ccb", 6100, 1e4, 0.01),
    ("cc_elife_registered", "abc", 5200, 1e4, 0.01),
    ("cc_elife_registered", "boc", 4300, 1e4, 0.01),
    ("cc_elife_bound", "icbc", PAGE, 1e4, 0.01),
    ("pm_pool_balance", "icbc", PAGE, 1, 0.01),
    ("pm_pool_jicunjin", "icbc", PAGE, 1, 0.01),
    ("pm_pool_ruyijin", "icbc", PAGE, 1, 0.01),
    ("pm_pool_usd", "icbc", PAGE, 1e8, 0.01),
    ("pb_clients", "icbc", PAGE, 1e4, 0.01),
    ("pb_clients_peer", "icbc", PAGE, 1e4, 0.01),
    ("pb_clients_peer_rank", "icbc", PAGE, 1, 0),
]

# Year-to-date KPIs: (kpi, factor, decimals of the June 2019 YTD the page's YoY rate gives)
_YTD = [
    ("mb_txn_amount_ytd", 1e12, 2),
    ("mb_txn_count_ytd", 1e8, 1),
]

# Branch client counts (万户) at June 2020 and their increase over the first half: 广东, 北京,
# 浙江 at least 1万; 江苏, 广东, 山东, 浙江, 北京 up more than 1000 (the page), 上海 neither.
_BRANCHES = [
    ("广东", 1.32, 0.15),
    ("北京", 1.18, 0.12),
    ("浙江", 1.05, 0.11),
    ("江苏", 0.98, 0.16),
    ("山东", 0.71, 0.13),
    ("上海", 0.89, 0.05),
]

# The page's branch figures (its first branch) and made-up branches below it, the same every
# month: (kpi, factor of its unit, [(made-up branch, June value)]).
_BRANCH_FIGURES = [
    ("pb_branch_fx_asset_penetration", 0.01, [("北京", 41), ("广东", 37)]),
    ("pb_branch_credit_card_coverage", 0.01, [("上海", 66), ("江苏", 61)]),
    ("pb_branch_rongex_coverage", 0.01, [("浙江", 91)]),
    ("pb_branch_inclusive_drawdown_cum", 1e8, [("江苏", 27.3)]),
]

# KPIs first submitted later than the rest: no same-month-last-year base, so 同比 is null.
_FIRST_PERIOD = {"cc_rongejie_npl": date(2020, 1, 1)}


def _june_level(page: PublishedPage, kpi: str, entity: str, made_up) -> tuple[Decimal, str | None]:
    """(June 2020 value, qualifier) of one level."""
    if made_up is not PAGE:
        return made_up, None
    if entity == "icbc":
        figure = page.figure(kpi)
        return figure.value, figure.qualifier
    bank, value = page.runner_up(kpi)
    assert bank == entity, f"the page's runner-up in {kpi} is {bank}, not {entity}"
    return value, None


def _fixed_values(page: PublishedPage) -> dict[tuple[date, str, str], Decimal]:
    """Figures the page fixes in a month other than June: June 2019's monthly active customers
    (同比 +17.7%) and managed-customer penetration (its YoY rise, 10 pp below June 2020), and
    the pool in US dollars at the end of March (less the published 较3月末净增1.19亿美元)."""
    active_2019, active = page.prior_year("mb_monthly_active", 0)
    managed = page.figure("mb_pen_managed")
    managed_rise = page.stated("mb_pen_managed", "yoy_pp").value
    march, usd = page.before_change("pm_pool_usd")
    return {
        (active_2019.first_day, "mb_monthly_active", "icbc"): active,
        (managed.period.shift(-12).first_day, "mb_pen_managed", "icbc"): managed.value
        - managed_rise,
        (march.first_day, "pm_pool_usd", "icbc"): usd,
    }


def sample_figures(periods: list[date]) -> list[RawFigure]:
    page = read_page()
    fixed = _fixed_values(page)
    figures: list[RawFigure] = []
    for period in periods:
        offset = months_between(PUBLISHED_PERIOD, period)
        for kpi, entity, made_up, factor, growth in _LEVELS:
            if period < _FIRST_PERIOD.get(kpi, period):
                continue
            june, qualifier = _june_level(page, kpi, entity, made_up)
            unit, lob = page.figure(kpi).unit, page.figure(kpi).lob_code
            if (period, kpi, entity) in fixed:
                value = fixed[(period, kpi, entity)]
            elif unit == "位":
                value = june
            else:
                value = round(float(june) * (1 + growth) ** offset, 4)
            figures.append(_figure(period, lob, kpi, entity, value, unit, factor, qualifier))
        for kpi, factor, decimals in _YTD:
            # even monthly flows; the year's level set so that June matches the published YTD
            figure = page.figure(kpi)
            june_2019 = page.prior_year(kpi, decimals)[1]
            june_level = float(figure.value if period.year == 2020 else june_2019)
            value = round(june_level / 6 * period.month, 4)
            figures.append(
                _figure(period, figure.lob_code, kpi, "icbc", value, figure.unit, factor)
            )
        for branch, june, half_year_increase in _BRANCHES:
            monthly = half_year_increase / 6
            value = round(june + monthly * offset, 4)
            figures.append(
                _figure(
                    period,
                    "private_banking",
                    "pb_branch_clients",
                    branch,
                    value,
                    "万户",
                    1e4,
                    entity_type="branch",
                )
            )
        for kpi, factor, made_up in _BRANCH_FIGURES:
            [published] = [f for f in page.figures() if f.kpi_code == kpi]
            branches = [(published.entity.removeprefix("branch:"), published.value), *made_up]
            for branch, value in branches:
                figures.append(
                    _figure(
                        period,
                        published.lob_code,
                        kpi,
                        branch,
                        value,
                        published.unit,
                        factor,
                        entity_type="branch",
                    )
                )
    return figures


def load_figures(conn, figures: list[RawFigure]) -> None:
    """Write figures the way the loader does: per (period, lob) one audit row, replacing rows."""
    groups: dict[tuple[date, str], list[RawFigure]] = {}
    for figure in figures:
        groups.setdefault((figure.period, figure.lob_code), []).append(figure)
    with conn.cursor() as cur:
        for (period, lob), rows in sorted(groups.items()):
            source_file = f"data/incoming/{period:%Y-%m}/{lob}.csv"
            cur.execute(
                "delete from raw.lob_figures where period = %s and lob_code = %s", (period, lob)
            )
            cur.execute(
                "insert into raw.load_audit (period, lob_code, source_file, source_sha256,"
                " row_count) values (%s, %s, %s, %s, %s) returning load_id",
                (period, lob, source_file, "0" * 64, len(rows)),
            )
            (load_id,) = cur.fetchone()
            cur.executemany(
                "insert into raw.lob_figures (load_id, period, lob_code, kpi_code, entity_type,"
                " entity_code, value_submitted, unit_submitted, value_base, qualifier,"
                " is_demo_data, source_file, source_row)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        load_id,
                        f.period,
                        f.lob_code,
                        f.kpi_code,
                        f.entity_type,
                        f.entity_code,
                        f.value_submitted,
                        f.unit_submitted,
                        f.value_base,
                        f.qualifier,
                        f.is_demo_data,
                        source_file,
                        row_number,
                    )
                    for row_number, f in enumerate(rows, start=2)
                ],
            )
    conn.commit()


def main(argv: list[str]) -> None:
    import psycopg

    with psycopg.connect(argv[1]) as conn:
        load_figures(conn, sample_figures(month_range(date(2019, 5, 1), date(2020, 7, 1))))


if __name__ == "__main__":
    main(sys.argv)
