"""A small, known history of raw submissions for exercising the dbt project.

The June 2020 figures are the published ones (FIGURES.md); other months are made up and
flagged `is_demo_data`. Run as a script to load them into a scratch database for dev:

    python tests/dbt/sample_raw_rows.py postgresql://postgres@127.0.0.1:5432/sb_dbt_dev
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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


# (lob, kpi, entity, value in June 2020, unit, factor, monthly growth, qualifier)
_LEVELS = [
    ("mobile_banking", "mb_customers", "icbc", 3.85, "亿户", 1e8, 0.004, None),
    ("mobile_banking", "mb_customers", "ccb", 3.6738, "亿户", 1e8, 0.004, None),
    ("mobile_banking", "mb_customers_rank", "icbc", 1, "位", 1, 0, None),
    ("mobile_banking", "mb_monthly_active", "icbc", 7726, "万户", 1e4, 0.0137, None),
    ("mobile_banking", "mb_monthly_active", "ccb", 7401, "万户", 1e4, 0.0137, None),
    ("mobile_banking", "mb_monthly_active_rank", "icbc", 1, "位", 1, 0, None),
    ("mobile_banking", "mb_pen_managed", "icbc", 74.09, "%", 0.01, 0.0, None),
    ("mobile_banking", "mb_pen_new", "icbc", 45.58, "%", 0.01, 0.0, None),
    ("credit_card", "cc_rongejie_npl", "icbc", 1.37, "%", 0.01, 0.0, None),
    ("credit_card", "cc_elife_registered", "icbc", 7200, "万户", 1e4, 0.01, "超过"),
    ("credit_card", "cc_elife_registered", "ccb", 6100, "万户", 1e4, 0.01, None),
    ("credit_card", "cc_elife_registered", "abc", 5200, "万户", 1e4, 0.01, None),
    ("credit_card", "cc_elife_registered", "boc", 4300, "万户", 1e4, 0.01, None),
    ("credit_card", "cc_elife_bound", "icbc", 5100, "万户", 1e4, 0.01, "超过"),
    ("precious_metals", "pm_pool_balance", "icbc", 53.44, "吨", 1, 0.01, None),
    ("precious_metals", "pm_pool_jicunjin", "icbc", 16.48, "吨", 1, 0.01, None),
    ("precious_metals", "pm_pool_ruyijin", "icbc", 35.94, "吨", 1, 0.01, None),
    ("precious_metals", "pm_pool_usd", "icbc", 29.85, "亿美元", 1e8, 0.01, None),
    ("private_banking", "pb_clients", "icbc", 10.5, "万户", 1e4, 0.01, None),
    ("private_banking", "pb_clients_peer", "icbc", 16.9, "万户", 1e4, 0.01, None),
    ("private_banking", "pb_clients_peer_rank", "icbc", 1, "位", 1, 0, None),
]

# Year-to-date KPIs: (lob, kpi, June 2020 YTD, June 2019 YTD, unit, factor)
_YTD = [
    ("mobile_banking", "mb_txn_amount_ytd", 31.5, 25.12, "万亿元", 1e12),
    ("mobile_banking", "mb_txn_count_ytd", 369.0, 303.0, "亿笔", 1e8),
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

# The page's branch figures, the first of each published, the others made up:
# (kpi, unit, factor, [(branch, June value)]); the same every month.
_BRANCH_FIGURES = [
    ("pb_branch_fx_asset_penetration", "%", 0.01, [("上海", 58), ("北京", 41), ("广东", 37)]),
    ("pb_branch_credit_card_coverage", "%", 0.01, [("北京", 79), ("上海", 66), ("江苏", 61)]),
    ("pb_branch_rongex_coverage", "%", 0.01, [("江苏", 96), ("浙江", 91)]),
    ("pb_branch_inclusive_drawdown_cum", "亿元", 1e8, [("浙江", 38.6), ("江苏", 27.3)]),
]

# Figures fixed by the page in a month other than June: the pool in US dollars at the end of
# March (29.85亿美元 less the published 较3月末净增1.19亿美元).
_FIXED = {(date(2020, 3, 1), "pm_pool_usd", "icbc"): 28.66}

# KPIs first submitted later than the rest: no same-month-last-year base, so 同比 is null.
_FIRST_PERIOD = {"cc_rongejie_npl": date(2020, 1, 1)}

# Published year-on-year bases: June 2019's monthly active customers (同比 +17.7%) and
# managed-customer penetration (10 pp below June 2020).
_JUNE_2019 = {
    ("mb_monthly_active", "icbc"): 6564,
    ("mb_pen_managed", "icbc"): 64.09,
}


def sample_figures(periods: list[date]) -> list[RawFigure]:
    figures: list[RawFigure] = []
    for period in periods:
        offset = months_between(PUBLISHED_PERIOD, period)
        for lob, kpi, entity, june, unit, factor, growth, qualifier in _LEVELS:
            if period < _FIRST_PERIOD.get(kpi, period):
                continue
            if period == date(2019, 6, 1) and (kpi, entity) in _JUNE_2019:
                value = _JUNE_2019[(kpi, entity)]
            elif (period, kpi, entity) in _FIXED:
                value = _FIXED[(period, kpi, entity)]
            elif unit == "位":
                value = june
            else:
                value = round(june * (1 + growth) ** offset, 4)
            figures.append(_figure(period, lob, kpi, entity, value, unit, factor, qualifier))
        for lob, kpi, june_ytd, june_2019_ytd, unit, factor in _YTD:
            # even monthly flows; the year's level set so that June matches the published YTD
            june_level = june_ytd if period.year == 2020 else june_2019_ytd
            value = round(june_level / 6 * period.month, 4)
            figures.append(_figure(period, lob, kpi, "icbc", value, unit, factor))
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
        for kpi, unit, factor, branches in _BRANCH_FIGURES:
            for branch, value in branches:
                figures.append(
                    _figure(
                        period,
                        "private_banking",
                        kpi,
                        branch,
                        value,
                        unit,
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
