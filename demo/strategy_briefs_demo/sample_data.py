"""The bundled sample submissions (the demo) and large benchmark files.

`write_sample(incoming_dir)` writes `<incoming>/<YYYY-MM>/<lob>.csv` for 2019-01 .. 2020-07.
Every figure the special-edition page publishes (`published_figures.csv`, read through
`strategy_briefs_demo.published`) sits in its month exactly as printed, with its qualifier,
note `已发布`. Figures the page lets us derive (prior-year points from published YoY rates,
建行 from published leads, end of March from a published increase) carry a note starting
`推算：`. Everything else is made up by a seeded generator that passes exactly through those
points; those rows carry the note `演示数据` (so `is_demo_data` is true) and must be labelled
as demonstration data wherever they show. Here live only the made-up series' shapes (unit
decimals, growth, noise) and the made-up points. Run `python -m strategy_briefs_demo.sample_data
[DIR]` to regenerate data/incoming; the output is deterministic.
"""

from __future__ import annotations

import csv
import math
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from strategy_briefs.periods import Period, months_between
from strategy_briefs_demo.published import PublishedPage, read_page

SEED = "strategy-briefs-sample-v1"
FIRST_MONTH = "2019-01"
LAST_MONTH = "2020-07"
PUBLISHED = "已发布"
DEMO = "演示数据"
HEADER = ("period", "lob", "kpi_code", "entity", "value", "unit", "note")
BANK_ORDER = ("icbc", "ccb", "abc", "boc")


def months(first: str = FIRST_MONTH, last: str = LAST_MONTH) -> list[str]:
    return [str(p) for p in months_between(Period.parse(first), Period.parse(last))]


def _index(period: str) -> int:
    """The month as a number on the series' time axis (one per month)."""
    month = Period.parse(period)
    return month.year * 12 + month.month - 1


def _format(value: float | Decimal, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return str(exact.quantize(quantum, rounding=ROUND_HALF_UP))


def _gauss(*key: object) -> float:
    """A deterministic standard-normal draw (clipped to +-2) for one point of one series."""
    rng = random.Random("|".join([SEED, *map(str, key)]))
    return max(-2.0, min(2.0, rng.gauss(0.0, 1.0)))


@dataclass(frozen=True)
class Point:
    """A fixed point of a series: the text as printed and where it comes from."""

    text: str  # number as printed, without qualifier
    note: str = PUBLISHED
    qualifier: str = ""  # printed before (超过, 近) or after (余) the number

    @property
    def value(self) -> float:
        return float(self.text)

    def printed(self) -> str:
        if self.qualifier == "余":
            return self.text + "余"
        return self.qualifier + self.text


@dataclass
class Series:
    """One KPI for one entity over the sample months, in the submitted unit."""

    lob: str
    kpi: str
    unit: str
    decimals: int
    points: dict[str, Point]
    entity: str = "icbc"
    annual_growth: float = 0.08  # used where no two points fix the trend
    noise: float = 0.004  # relative (ratios: percentage points)
    ratio: bool = False  # additive path in percentage points
    ytd: bool = False  # cumulative from January, reset each year
    first: str = FIRST_MONTH
    last: str = LAST_MONTH
    extra: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, tuple[str, str]]:
        """period -> (printed value, note)."""
        if self.ytd:
            raw = self._ytd_values()
        else:
            raw = {m: self._stock_value(m) for m in months(self.first, self.last)}
        out = {}
        for month, value in raw.items():
            if month in self.points:
                point = self.points[month]
                out[month] = (point.printed(), point.note)
            else:
                out[month] = (_format(value, self.decimals), DEMO)
        return out

    # stocks: geometric (ratios: linear) through the points, seeded noise elsewhere
    def _trend(self, month: str) -> float:
        anchors = sorted((_index(m), p.value) for m, p in self.points.items())
        i = _index(month)
        if len(anchors) >= 2:  # through the bracketing pair (or the nearest pair outside)
            k = next(
                (n for n in range(1, len(anchors) - 1) if anchors[n][0] >= i), len(anchors) - 1
            )
            (i0, v0), (i1, v1) = anchors[k - 1], anchors[k]
            t = (i - i0) / (i1 - i0)
            return v0 + (v1 - v0) * t if self.ratio else v0 * (v1 / v0) ** t
        i0, v0 = anchors[0]
        if self.ratio:
            return v0 + self.annual_growth * (i - i0) / 12
        return v0 * (1 + self.annual_growth) ** ((i - i0) / 12)

    def _stock_value(self, month: str) -> float:
        trend = self._trend(month)
        z = _gauss(self.lob, self.kpi, self.entity, month)
        if self.ratio:
            return min(99.9, max(0.1, trend + self.noise * z))
        return trend * (1 + self.noise * z)

    # year-to-date: monthly flows with seasonality, scaled so the points are hit exactly
    def _ytd_values(self) -> dict[str, float]:
        periods = months(self.first, self.last)
        years = sorted({int(m[:4]) for m in periods})
        weights = {
            m: (1 + 0.08 * math.sin(int(m[5:7]) / 12 * 2 * math.pi))
            * (1 + self.noise * _gauss(self.lob, self.kpi, self.entity, m))
            for m in (f"{y}-{mo:02d}" for y in years for mo in range(1, 13))
        }
        level: dict[int, float] = {}
        for month, point in self.points.items():
            year = int(month[:4])
            level[year] = point.value / sum(
                weights[f"{year}-{mo:02d}"] for mo in range(1, int(month[5:7]) + 1)
            )
        for year in years:  # years without a point follow the growth rate
            if year not in level:
                known = min(level, key=lambda y: abs(y - year))
                level[year] = level[known] * (1 + self.annual_growth) ** (year - known)
        out, total = {}, 0.0
        for month in periods:
            if month.endswith("-01"):
                total = 0.0
            total += level[int(month[:4])] * weights[month]
            out[month] = total
        return out


def _page_series(
    page: PublishedPage, kpi: str, decimals: int, *, demo_points=None, **shape
) -> Series:
    """The series through the page's figure of `kpi` for the reporting bank, in the unit the
    page prints it in, plus the point the page lets us derive (the prior year from its YoY
    rate, the month its change is counted from) and any made-up `demo_points`."""
    figure = page.figure(kpi)
    printed = f"{figure.text}{figure.unit}"
    points = {str(figure.period): Point(figure.text, PUBLISHED, figure.qualifier or "")}
    rate = page.stated(kpi, "yoy_rate")
    if rate is not None:
        month, value = page.prior_year(kpi, decimals)
        points[str(month)] = Point(str(value), f"推算：{printed}÷(1+{rate.text}%)")
        _check_yoy(figure.text, points[str(month)], rate.text)
    change = page.stated(kpi, "change_since")
    if change is not None:
        month, value = page.before_change(kpi)
        how = f"推算：{printed}−较{month.month}月末净增{change.text}{change.unit}"
        points[str(month)] = Point(_format(value, decimals), how)
    rise = page.stated(kpi, "yoy_pp")
    for month, point in (demo_points or {}).items():
        if rise is not None and month == str(figure.period.shift(-12)):
            _check_rise(figure.text, point, rise.text)
        points[month] = point
    return Series(figure.lob_code, kpi, figure.unit, decimals, points, **shape)


def _check_yoy(current: str, prior: Point, published_pct: str) -> None:
    """The YoY a reader computes from the sample must round to the published rate."""
    rate = (Decimal(current) / Decimal(prior.text) - 1) * 100
    places = Decimal(published_pct).as_tuple().exponent
    if rate.quantize(Decimal(1).scaleb(places), ROUND_HALF_UP) != Decimal(published_pct):
        raise AssertionError(f"{prior}: YoY {rate} does not round to {published_pct}%")


def _check_rise(current: str, prior: Point, published_pp: str) -> None:
    """A made-up prior year must keep the page's "up more than N percentage points"."""
    if Decimal(current) - Decimal(prior.text) <= Decimal(published_pp):
        raise AssertionError(f"{prior}: {current} is not {published_pp}pp above it")


def _runner_up_point(page: PublishedPage, kpi: str) -> tuple[str, Point]:
    """(bank, its point in the page's month): the reporting bank's figure less its lead."""
    figure, lead = page.figure(kpi), page.stated(kpi, "lead")
    bank, value = page.runner_up(kpi)
    how = f"推算：{figure.text}{figure.unit}−领先{lead.text}{lead.unit}"
    return bank, Point(format(value, "f"), how)


def _mobile_banking(page: PublishedPage) -> list[Series]:
    lob, june = "mobile_banking", "2020-06"
    series = [
        _page_series(page, "mb_customers", 4, annual_growth=0.11),
        _page_series(page, "mb_market_share", 1, ratio=True, annual_growth=0.8, noise=0.15),
        _page_series(page, "mb_monthly_active", 2, noise=0.01),
        _page_series(page, "mb_txn_amount_ytd", 4, ytd=True, noise=0.03),
        _page_series(page, "mb_txn_count_ytd", 2, ytd=True, noise=0.03),
        _page_series(page, "mb_online_share_wealth", 2, ratio=True, annual_growth=0.6, noise=0.05),
        _page_series(page, "mb_pen_credit_card", 2, ratio=True, annual_growth=4.0, noise=0.2),
        # YoY "up more than 10 / 6 percentage points": the 2019-06 demo points respect it
        _page_series(
            page,
            "mb_pen_managed",
            2,
            demo_points={"2019-06": Point("63.52", DEMO)},
            ratio=True,
            noise=0.2,
        ),
        _page_series(page, "mb_pen_payroll", 2, ratio=True, annual_growth=5.0, noise=0.2),
        _page_series(page, "mb_pen_in_branch", 2, ratio=True, annual_growth=6.0, noise=0.3),
        _page_series(
            page,
            "mb_pen_new",
            2,
            demo_points={"2019-06": Point("39.17", DEMO)},
            ratio=True,
            noise=0.3,
        ),
        _page_series(page, "mb_personal_customers_total", 2, annual_growth=0.05, noise=0.002),
    ]
    customers, active = series[0], series[2]
    # Peers: the runner-up 建行 from the published leads; 农行/中行 made up, so that a rank
    # can be computed in every demo month. In June 2020 the page gives the rank itself.
    peers = {"ccb": (0.9542, 0.958), "abc": (0.861, 0.81), "boc": (0.612, 0.57)}
    icbc_customers, icbc_active = customers.values(), active.values()
    for bank, (share_customers, share_active) in peers.items():
        for base, values, share, kpi, decimals in (
            (customers, icbc_customers, share_customers, "mb_customers", 4),
            (active, icbc_active, share_active, "mb_monthly_active", 2),
        ):
            points = {}
            for month, (text, _note) in values.items():
                if month == june:
                    continue
                z = _gauss(lob, kpi, bank, month)
                points[month] = Point(
                    _format(float(text) * share * (1 + 0.004 * z), decimals), DEMO
                )
            runner_up, point = _runner_up_point(page, kpi)
            if bank == runner_up:
                points[june] = point
            series.append(Series(lob, kpi, base.unit, decimals, points, entity=bank))
    for kpi in ("mb_customers_rank", "mb_monthly_active_rank"):
        series.append(_page_series(page, kpi, 0, first=june, last=june))
    return series


def _credit_card(page: PublishedPage) -> list[Series]:
    # the page gives no month: its figures are dated June 2020 (published_figures.csv)
    return [
        _page_series(page, "cc_online_acq_share", 1, ratio=True, annual_growth=7.0, noise=0.4),
        _page_series(page, "cc_epay_merchants", 1, annual_growth=0.35),
        _page_series(page, "cc_rongejie_balance", 1, annual_growth=0.18),
        _page_series(page, "cc_rongejie_disbursed_cum", 0, annual_growth=0.3, noise=0.001),
        _page_series(page, "cc_rongejie_npl", 2, ratio=True, annual_growth=0.1, noise=0.03),
        _page_series(page, "cc_rongejie_platforms", 0, annual_growth=0.4, noise=0.0),
        _page_series(page, "cc_elife_registered", 0, annual_growth=0.2, noise=0.002),
        _page_series(page, "cc_elife_registered_rank", 0, noise=0.0, annual_growth=0.0),
        _page_series(page, "cc_elife_bound", 0, annual_growth=0.2, noise=0.002),
        _page_series(page, "cc_scenarios", 0, annual_growth=0.6, noise=0.01),
    ]


def _precious_metals(page: PublishedPage) -> list[Series]:
    return [
        _page_series(page, "pm_pool_balance", 2, annual_growth=0.06),
        _page_series(page, "pm_pool_jicunjin", 2, annual_growth=0.08),
        _page_series(page, "pm_pool_ruyijin", 2, annual_growth=0.05),
        _page_series(page, "pm_pool_usd", 2, noise=0.01),
        _page_series(page, "pm_new_active_accounts_ytd", 4, ytd=True, noise=0.05),
        # the card was launched two months before the page: no history before June 2020
        _page_series(page, "pm_card_sales", 1, first="2020-06", annual_growth=60.0, noise=0.0),
        _page_series(page, "pm_retail_sales_ytd", 2, ytd=True, annual_growth=0.02, noise=0.05),
        _page_series(page, "pm_fee_income_ytd", 2, ytd=True, annual_growth=0.21, noise=0.05),
        _page_series(
            page, "pm_partner_platforms", 0, first="2020-05", annual_growth=3.0, noise=0.0
        ),
    ]


# Branch demo figures (户) at June 2020: 广东, 北京, 浙江 at least 1万 as the page says;
# 江苏, 广东, 山东, 浙江, 北京 grew by more than 1000 in H1 2020, in the page's order
# (largest increase first: about 1500, 1400, 1250, 1150, 1050).
_BRANCHES = {
    "广东": (13210, 0.25),
    "北京": (12180, 0.198),
    "浙江": (10460, 0.262),
    "江苏": (9630, 0.403),
    "上海": (8870, 0.12),
    "山东": (7120, 0.471),
    "深圳": (6240, 0.14),
    "四川": (4510, 0.15),
}

# Each branch figure the page publishes (its first branch) and two made-up branches below
# it, so that the branch's standing is computed, not asserted:
# kpi -> (decimals, ratio, [(made-up branch, June value)])
_BRANCH_SPOTLIGHTS = {
    "pb_branch_fx_asset_penetration": (0, True, [("北京", "41"), ("广东", "37")]),
    "pb_branch_credit_card_coverage": (0, True, [("上海", "66"), ("江苏", "61")]),
    "pb_branch_rongex_coverage": (0, True, [("浙江", "91"), ("广东", "88")]),
    "pb_branch_inclusive_drawdown_cum": (1, False, [("江苏", "27.3"), ("广东", "24.1")]),
}


def _branch_spotlights(page: PublishedPage) -> list[Series]:
    series = []
    for kpi, (decimals, ratio, made_up) in _BRANCH_SPOTLIGHTS.items():
        [published] = [f for f in page.figures() if f.kpi_code == kpi]
        month = str(published.period)
        branches = [(published.entity, Point(published.text, PUBLISHED))]
        branches += [(f"branch:{name}", Point(value, DEMO)) for name, value in made_up]
        for entity, point in branches:
            series.append(
                Series(
                    published.lob_code,
                    kpi,
                    published.unit,
                    decimals,
                    {month: point},
                    entity=entity,
                    ratio=ratio,
                    annual_growth=4.0 if ratio else 0.3,
                    noise=0.3 if ratio else 0.004,
                )
            )
    return series


def _private_banking(page: PublishedPage) -> list[Series]:
    lob, june = "private_banking", "2020-06"
    series = [
        _page_series(page, "pb_clients", 2, annual_growth=0.22, noise=0.003),
        _page_series(page, "pb_aum", 3, annual_growth=0.14),
        _page_series(page, "pb_clients_peer", 2, annual_growth=0.15, noise=0.003),
        _page_series(page, "pb_clients_peer_rank", 0, annual_growth=0.0, noise=0.0),
        _page_series(page, "pb_aum_peer", 3, annual_growth=0.12),
        _page_series(page, "pb_fx_clients", 2, annual_growth=0.2),
        _page_series(page, "pb_fx_penetration", 1, ratio=True, annual_growth=3.0, noise=0.3),
    ]
    for branch, (clients, growth) in _BRANCHES.items():
        series.append(
            Series(
                lob,
                "pb_branch_clients",
                "户",
                0,
                {june: Point(str(clients), DEMO)},
                entity=f"branch:{branch}",
                annual_growth=growth,
                noise=0.003,
            )
        )
    return series + _branch_spotlights(page)


def all_series() -> list[Series]:
    page = read_page()
    return (
        _mobile_banking(page) + _credit_card(page) + _precious_metals(page) + _private_banking(page)
    )


@dataclass(frozen=True)
class SampleRow:
    period: str
    lob: str
    kpi_code: str
    entity: str
    value: str
    unit: str
    note: str

    def as_tuple(self) -> tuple[str, ...]:
        return (self.period, self.lob, self.kpi_code, self.entity, self.value, self.unit, self.note)


def sample_rows(catalogue=None) -> dict[tuple[str, str], list[SampleRow]]:
    """(period, lob) -> rows, in catalogue display order, banks before branches."""
    order = _display_order(catalogue)
    grouped: dict[tuple[str, str], list[SampleRow]] = {}
    for series in all_series():
        for month, (text, note) in series.values().items():
            grouped.setdefault((month, series.lob), []).append(
                SampleRow(month, series.lob, series.kpi, series.entity, text, series.unit, note)
            )

    def sort_key(row: SampleRow) -> tuple:
        bank = BANK_ORDER.index(row.entity) if row.entity in BANK_ORDER else len(BANK_ORDER)
        return (order.get(row.kpi_code, 999), row.kpi_code, bank)  # stable: branches as listed

    return {key: sorted(rows, key=sort_key) for key, rows in sorted(grouped.items())}


def _display_order(catalogue) -> dict[str, int]:
    if catalogue is None:
        catalogue = read_page().catalogue
    return {code: kpi.display_order for code, kpi in catalogue.kpis.items()}


def write_csv(path: Path, rows: Iterable[tuple[str, ...]]) -> Path:
    """A submission file of `rows` (HEADER's columns) at `path`, its folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def write_sample(incoming_dir: Path, catalogue=None) -> list[Path]:
    """Write the bundled sample under `incoming_dir`; returns the files written."""
    written = []
    for (month, lob), rows in sample_rows(catalogue).items():
        path = Path(incoming_dir) / month / f"{lob}.csv"
        write_csv(path, (row.as_tuple() for row in rows))
        written.append(path)
    return written


_LARGE_KPIS = (  # (kpi_code, unit, scale): valid for branch entities of mobile_banking
    ("mb_customers", "户", 5_000_000),
    ("mb_customers", "万户", 500),
    ("mb_monthly_active", "万户", 300),
    ("mb_txn_amount_ytd", "亿元", 9000),
    ("mb_txn_count_ytd", "万笔", 90000),
    ("mb_online_share_wealth", "%", 99),
    ("mb_pen_credit_card", "%", 90),
    ("mb_pen_managed", "%", 80),
    ("mb_pen_payroll", "%", 80),
    ("mb_pen_in_branch", "%", 70),
    ("mb_pen_new", "%", 50),
    ("mb_personal_customers_total", "万户", 3000),
    ("mb_market_share", "%", 40),
)


def write_large_submission(path: Path, rows: int, *, period: str = "2020-06") -> Path:
    """A valid mobile-banking submission of exactly `rows` rows (for benchmarks and fault
    tests): the reporting bank's required KPIs, then per-branch figures for as many
    synthetic branches (`branch:演示分行000001`…) as it takes. Deterministic."""
    lob = "mobile_banking"
    rng = random.Random(f"{SEED}|large|{rows}")
    kpis = [k for k, _unit, _scale in _LARGE_KPIS]
    distinct = list(dict.fromkeys(kpis))

    def generate() -> Iterable[tuple[str, ...]]:
        head = [
            ("mb_customers", "3.85", "亿户"),
            ("mb_monthly_active", "7726", "万户"),
            ("mb_txn_amount_ytd", "31.5", "万亿元"),
            ("mb_txn_count_ytd", "369.0", "亿笔"),
        ]
        written = 0
        for kpi, value, unit in head[:rows]:
            yield (period, lob, kpi, "icbc", value, unit, PUBLISHED)
            written += 1
        branch = 0
        while written < rows:
            branch += 1
            entity = f"branch:演示分行{branch:06d}"
            for kpi in distinct:
                if written >= rows:
                    break
                options = [(u, s) for k, u, s in _LARGE_KPIS if k == kpi]
                unit, scale = options[rng.randrange(len(options))]
                value = rng.uniform(0, scale)
                text = f"{value:.2f}" if unit != "户" else str(int(value))
                yield (period, lob, kpi, entity, text, unit, DEMO)
                written += 1

    write_csv(Path(path), generate())
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from strategy_briefs.config import Settings

    target = Path(argv[0]) if argv else Settings.from_env().incoming_dir
    written = write_sample(target)
    print(f"wrote {len(written)} files under {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
