"""A small, known history of raw submissions for exercising the dbt project.

The June 2020 figures are the page's published ones (the demo's published_figures.csv,
read through `strategy_briefs_demo.published`); other months grow back from them, made up
and flagged `is_demo_data`; the made-up branches are the brief tests' too
(`tests.helpers.made_up_branches`). Each figure's base value is the catalogue's conversion
of its unit (`Unit.base_value`), as the loader's. Run from the project root to load them
into a scratch database for dev:

    PYTHONPATH=. python tests/dbt/sample_raw_rows.py postgresql://postgres@127.0.0.1:5432/sb_dbt_dev
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from strategy_briefs.periods import Period, months_between
from strategy_briefs_demo.published import PublishedPage, read_page
from tests.helpers.made_up_branches import BRANCH_CLIENTS, BRANCHES_BELOW, CLIENTS_UNIT

PUBLISHED_PERIOD = Period(2020, 6)
HISTORY = months_between(Period(2019, 5), Period(2020, 7))


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


def months_from_june(period: Period) -> int:
    """How many months `period` lies after June 2020 (negative: before)."""
    if period < PUBLISHED_PERIOD:
        return 1 - len(months_between(period, PUBLISHED_PERIOD))
    return len(months_between(PUBLISHED_PERIOD, period)) - 1


def _figure(page: PublishedPage, period: Period, kpi: str, entity: str, value, unit: str, **kw):
    """One raw row of `kpi` in `period`: `value` as submitted in `unit`."""
    value = Decimal(str(value))
    return RawFigure(
        period=period.first_day,
        lob_code=page.catalogue.kpis[kpi].lob_code,
        kpi_code=kpi,
        entity_type=kw.get("entity_type", "bank"),
        entity_code=entity,
        value_submitted=format(value, "f"),
        unit_submitted=unit,
        value_base=page.catalogue.units[unit].base_value(value),
        qualifier=kw.get("qualifier"),
        is_demo_data=period != PUBLISHED_PERIOD,
    )


PAGE = None  # a level whose June 2020 value is the page's (published_figures.csv)

# (kpi, entity, June 2020 value, monthly growth). PAGE: the page's figure, with the qualifier
# it is printed with (建行's: the reporting bank's figure less the page's lead); a number:
# made up. Each in the unit the page prints the KPI in.
_LEVELS = [
    ("mb_customers", "icbc", PAGE, 0.004),
    ("mb_customers", "ccb", PAGE, 0.004),
    ("mb_customers_rank", "icbc", PAGE, 0),
    ("mb_monthly_active", "icbc", PAGE, 0.0137),
    ("mb_monthly_active", "ccb", PAGE, 0.0137),
    ("mb_monthly_active_rank", "icbc", PAGE, 0),
    ("mb_pen_managed", "icbc", PAGE, 0.0),
    ("mb_pen_new", "icbc", PAGE, 0.0),
    ("cc_rongejie_npl", "icbc", PAGE, 0.0),
    ("cc_elife_registered", "icbc", PAGE, 0.01),
    ("cc_elife_registered", "ccb", 6100, 0.01),
    ("cc_elife_registered", "abc", 5200, 0.01),
    ("cc_elife_registered", "boc", 4300, 0.01),
    ("cc_elife_bound", "icbc", PAGE, 0.01),
    ("pm_pool_balance", "icbc", PAGE, 0.01),
    ("pm_pool_jicunjin", "icbc", PAGE, 0.01),
    ("pm_pool_ruyijin", "icbc", PAGE, 0.01),
    ("pm_pool_usd", "icbc", PAGE, 0.01),
    ("pb_clients", "icbc", PAGE, 0.01),
    ("pb_clients_peer", "icbc", PAGE, 0.01),
    ("pb_clients_peer_rank", "icbc", PAGE, 0),
]

# Year-to-date KPIs: (kpi, decimals of the June 2019 YTD the page's YoY rate gives)
_YTD = [("mb_txn_amount_ytd", 2), ("mb_txn_count_ytd", 1)]

# KPIs first submitted later than the rest: no same-month-last-year base, so 同比 is null.
_FIRST_PERIOD = {"cc_rongejie_npl": Period(2020, 1)}


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


def _fixed_values(page: PublishedPage) -> dict[tuple[Period, str, str], Decimal]:
    """Figures the page fixes in a month other than June: June 2019's monthly active customers
    (同比 +17.7%) and managed-customer penetration (its YoY rise, 10 pp below June 2020), and
    the pool in US dollars at the end of March (less the published 较3月末净增1.19亿美元)."""
    active_2019, active = page.prior_year("mb_monthly_active", 0)
    managed = page.figure("mb_pen_managed")
    managed_rise = page.stated("mb_pen_managed", "yoy_pp").value
    march, usd = page.before_change("pm_pool_usd")
    return {
        (active_2019, "mb_monthly_active", "icbc"): active,
        (managed.period.shift(-12), "mb_pen_managed", "icbc"): managed.value - managed_rise,
        (march, "pm_pool_usd", "icbc"): usd,
    }


def sample_figures(periods: list[Period] = HISTORY) -> list[RawFigure]:
    page = read_page()
    figures: list[RawFigure] = []
    for period in periods:
        figures += _levels(page, period)
        figures += _year_to_date(page, period)
        figures += _branch_clients(page, period)
        figures += _branch_figures(page, period)
    return figures


def _levels(page: PublishedPage, period: Period) -> list[RawFigure]:
    """The levels of `_LEVELS`: June's value grown back and forth, or a value the page fixes."""
    fixed, offset, rows = _fixed_values(page), months_from_june(period), []
    for kpi, entity, made_up, growth in _LEVELS:
        if period < _FIRST_PERIOD.get(kpi, period):
            continue
        june, qualifier = _june_level(page, kpi, entity, made_up)
        unit = page.figure(kpi).unit
        if (period, kpi, entity) in fixed:
            value = fixed[(period, kpi, entity)]
        elif unit == "位":
            value = june
        else:
            value = round(float(june) * (1 + growth) ** offset, 4)
        rows.append(_figure(page, period, kpi, entity, value, unit, qualifier=qualifier))
    return rows


def _year_to_date(page: PublishedPage, period: Period) -> list[RawFigure]:
    """Even monthly flows; each year's level set so that June matches the published YTD."""
    rows = []
    for kpi, decimals in _YTD:
        figure = page.figure(kpi)
        june_2019 = page.prior_year(kpi, decimals)[1]
        june_level = float(figure.value if period.year == 2020 else june_2019)
        value = round(june_level / 6 * period.month, 4)
        rows.append(_figure(page, period, kpi, "icbc", value, figure.unit))
    return rows


def _branch_clients(page: PublishedPage, period: Period) -> list[RawFigure]:
    """The made-up branches' clients, growing evenly by their increase over the first half."""
    offset = months_from_june(period)
    return [
        _figure(
            page,
            period,
            "pb_branch_clients",
            branch,
            round(june + increase / 6 * offset, 4),
            CLIENTS_UNIT,
            entity_type="branch",
        )
        for branch, june, increase in BRANCH_CLIENTS
    ]


def _branch_figures(page: PublishedPage, period: Period) -> list[RawFigure]:
    """The page's branch figures (its first branch) and the made-up branches below them, the
    same every month."""
    rows = []
    for kpi, below in BRANCHES_BELOW.items():
        [published] = [f for f in page.figures() if f.kpi_code == kpi]
        branches = [(published.entity.removeprefix("branch:"), published.text), *below]
        for branch, value in branches:
            rows.append(
                _figure(page, period, kpi, branch, value, published.unit, entity_type="branch")
            )
    return rows


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
        load_figures(conn, sample_figures())


if __name__ == "__main__":
    main(sys.argv)
