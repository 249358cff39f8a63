"""The bundled sample submissions (the demo) and large benchmark files.

`write_sample(incoming_dir)` writes `<incoming>/<YYYY-MM>/<lob>.csv` for 2019-01 .. 2020-07.
Every figure the special-edition page publishes (../shared/seed/FIGURES.md) sits in its
month exactly as printed, with its qualifier, note `已发布`. Figures the page lets us
derive (prior-year points from published YoY rates, 建行 from published leads, end of
March from a published increase) carry a note starting `推算：`. Everything else is made up
by a seeded generator that passes exactly through those points; those rows carry the note
`演示数据` (so `is_demo_data` is true) and must be labelled as demonstration data wherever
they show. Run `python -m strategy_briefs.sample_data [DIR]` to regenerate; the output is
deterministic.
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

SEED = "strategy-briefs-sample-v1"
FIRST_MONTH = "2019-01"
LAST_MONTH = "2020-07"
PUBLISHED = "已发布"
DEMO = "演示数据"
HEADER = ("period", "lob", "kpi_code", "entity", "value", "unit", "note")
BANK_ORDER = ("icbc", "ccb", "abc", "boc")


def months(first: str = FIRST_MONTH, last: str = LAST_MONTH) -> list[str]:
    start, end = _index(first), _index(last)
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(start, end + 1)]


def _index(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def _format(value: float, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


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


def _derived(value: float, decimals: int, how: str) -> Point:
    return Point(_format(value, decimals), f"推算：{how}")


def _check_yoy(current: str, prior: Point, published_pct: str) -> None:
    """The YoY a reader computes from the sample must round to the published rate."""
    rate = (Decimal(current) / Decimal(prior.text) - 1) * 100
    places = Decimal(published_pct).as_tuple().exponent
    if rate.quantize(Decimal(1).scaleb(places), ROUND_HALF_UP) != Decimal(published_pct):
        raise AssertionError(f"{prior}: YoY {rate} does not round to {published_pct}%")


def _mobile_banking() -> list[Series]:
    lob = "mobile_banking"
    mau_2019 = _derived(7726 / 1.177, 2, "7726万户÷(1+17.7%)")
    amount_2019 = _derived(31.5 / 1.254, 4, "31.5万亿元÷(1+25.4%)")
    count_2019 = _derived(369.0 / 1.218, 2, "369.0亿笔÷(1+21.8%)")
    _check_yoy("7726", mau_2019, "17.7")
    _check_yoy("31.5", amount_2019, "25.4")
    _check_yoy("369.0", count_2019, "21.8")
    june = "2020-06"
    series = [
        Series(lob, "mb_customers", "亿户", 4, {june: Point("3.85")}, annual_growth=0.11),
        Series(
            lob,
            "mb_market_share",
            "%",
            1,
            {june: Point("30")},
            ratio=True,
            annual_growth=0.8,
            noise=0.15,
        ),
        Series(
            lob,
            "mb_monthly_active",
            "万户",
            2,
            {"2019-06": mau_2019, june: Point("7726")},
            noise=0.01,
        ),
        Series(
            lob,
            "mb_txn_amount_ytd",
            "万亿元",
            4,
            {"2019-06": amount_2019, june: Point("31.5")},
            ytd=True,
            noise=0.03,
        ),
        Series(
            lob,
            "mb_txn_count_ytd",
            "亿笔",
            2,
            {"2019-06": count_2019, june: Point("369.0")},
            ytd=True,
            noise=0.03,
        ),
        Series(
            lob,
            "mb_online_share_wealth",
            "%",
            2,
            {june: Point("99", qualifier="超过")},
            ratio=True,
            annual_growth=0.6,
            noise=0.05,
        ),
        Series(
            lob,
            "mb_pen_credit_card",
            "%",
            2,
            {june: Point("82.5")},
            ratio=True,
            annual_growth=4.0,
            noise=0.2,
        ),
        # YoY "up more than 10 / 6 percentage points": the 2019-06 demo points respect it
        Series(
            lob,
            "mb_pen_managed",
            "%",
            2,
            {"2019-06": Point("63.52", DEMO), june: Point("74.09")},
            ratio=True,
            noise=0.2,
        ),
        Series(
            lob,
            "mb_pen_payroll",
            "%",
            2,
            {june: Point("74.83")},
            ratio=True,
            annual_growth=5.0,
            noise=0.2,
        ),
        Series(
            lob,
            "mb_pen_in_branch",
            "%",
            2,
            {june: Point("60.8")},
            ratio=True,
            annual_growth=6.0,
            noise=0.3,
        ),
        Series(
            lob,
            "mb_pen_new",
            "%",
            2,
            {"2019-06": Point("39.17", DEMO), june: Point("45.58")},
            ratio=True,
            noise=0.3,
        ),
        Series(
            lob,
            "mb_personal_customers_total",
            "亿户",
            2,
            {june: Point("6.6")},
            annual_growth=0.05,
            noise=0.002,
        ),
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
            if bank == "ccb":
                points[june] = (
                    Point("3.6738", "推算：3.85亿户−领先1762万户")
                    if kpi == "mb_customers"
                    else Point("7401", "推算：7726万户−领先325万户")
                )
            series.append(Series(lob, kpi, base.unit, decimals, points, entity=bank))
    for kpi in ("mb_customers_rank", "mb_monthly_active_rank"):
        series.append(Series(lob, kpi, "位", 0, {june: Point("1")}, first=june, last=june))
    return series


def _credit_card() -> list[Series]:
    lob, june = "credit_card", "2020-06"  # the page gives no month: treated as June 2020
    return [
        Series(
            lob,
            "cc_online_acq_share",
            "%",
            1,
            {june: Point("50", qualifier="超过")},
            ratio=True,
            annual_growth=7.0,
            noise=0.4,
        ),
        Series(lob, "cc_epay_merchants", "万户", 1, {june: Point("212")}, annual_growth=0.35),
        Series(lob, "cc_rongejie_balance", "亿元", 1, {june: Point("820")}, annual_growth=0.18),
        Series(
            lob,
            "cc_rongejie_disbursed_cum",
            "亿元",
            0,
            {june: Point("4800", qualifier="超过")},
            annual_growth=0.3,
            noise=0.001,
        ),
        Series(
            lob,
            "cc_rongejie_npl",
            "%",
            2,
            {june: Point("1.37")},
            ratio=True,
            annual_growth=0.1,
            noise=0.03,
        ),
        Series(
            lob, "cc_rongejie_platforms", "个", 0, {june: Point("13")}, annual_growth=0.4, noise=0.0
        ),
        Series(
            lob,
            "cc_elife_registered",
            "万户",
            0,
            {june: Point("7200", qualifier="超过")},
            annual_growth=0.2,
            noise=0.002,
        ),
        Series(
            lob,
            "cc_elife_registered_rank",
            "位",
            0,
            {june: Point("1")},
            noise=0.0,
            annual_growth=0.0,
        ),
        Series(
            lob,
            "cc_elife_bound",
            "万户",
            0,
            {june: Point("5100", qualifier="超过")},
            annual_growth=0.2,
            noise=0.002,
        ),
        Series(
            lob,
            "cc_scenarios",
            "个",
            0,
            {june: Point("3000", qualifier="余")},
            annual_growth=0.6,
            noise=0.01,
        ),
    ]


def _precious_metals() -> list[Series]:
    lob, june, july = "precious_metals", "2020-06", "2020-07"
    accounts_2019 = _derived(83 / 1.5835, 4, "83万户÷(1+58.35%)")
    _check_yoy("83", accounts_2019, "58.35")
    return [
        Series(lob, "pm_pool_balance", "吨", 2, {july: Point("53.44")}, annual_growth=0.06),
        Series(lob, "pm_pool_jicunjin", "吨", 2, {july: Point("16.48")}, annual_growth=0.08),
        Series(lob, "pm_pool_ruyijin", "吨", 2, {july: Point("35.94")}, annual_growth=0.05),
        Series(
            lob,
            "pm_pool_usd",
            "亿美元",
            2,
            {
                "2020-03": _derived(29.85 - 1.19, 2, "29.85亿美元−较3月末净增1.19亿美元"),
                july: Point("29.85"),
            },
            noise=0.01,
        ),
        Series(
            lob,
            "pm_new_active_accounts_ytd",
            "万户",
            4,
            {"2019-07": accounts_2019, july: Point("83")},
            ytd=True,
            noise=0.05,
        ),
        # the card was launched two months before the page: no history before June 2020
        Series(
            lob,
            "pm_card_sales",
            "万件",
            1,
            {july: Point("20", qualifier="近")},
            first=june,
            annual_growth=60.0,
            noise=0.0,
        ),
        Series(
            lob,
            "pm_retail_sales_ytd",
            "亿元",
            2,
            {june: Point("23")},
            ytd=True,
            annual_growth=0.02,
            noise=0.05,
        ),
        Series(
            lob,
            "pm_fee_income_ytd",
            "亿元",
            2,
            {june: Point("4.01")},
            ytd=True,
            annual_growth=0.21,
            noise=0.05,
        ),
        Series(
            lob,
            "pm_partner_platforms",
            "个",
            0,
            {july: Point("8")},
            first="2020-05",
            annual_growth=3.0,
            noise=0.0,
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

# The page's branch figures (published at June 2020, the first branch of each) and two made-up
# branches each below it, so that the branch's standing is computed, not asserted:
# kpi -> (unit, decimals, ratio, [(branch, June value)], the first branch's published)
_BRANCH_SPOTLIGHTS = {
    "pb_branch_fx_asset_penetration": ("%", 0, True, [("上海", 58), ("北京", 41), ("广东", 37)]),
    "pb_branch_credit_card_coverage": ("%", 0, True, [("北京", 79), ("上海", 66), ("江苏", 61)]),
    "pb_branch_rongex_coverage": ("%", 0, True, [("江苏", 96), ("浙江", 91), ("广东", 88)]),
    "pb_branch_inclusive_drawdown_cum": (
        "亿元",
        1,
        False,
        [("浙江", 38.6), ("江苏", 27.3), ("广东", 24.1)],
    ),
}


def _branch_spotlights(lob: str, june: str) -> list[Series]:
    series = []
    for kpi, (unit, decimals, ratio, branches) in _BRANCH_SPOTLIGHTS.items():
        for index, (branch, value) in enumerate(branches):
            note = PUBLISHED if index == 0 else DEMO
            series.append(
                Series(
                    lob,
                    kpi,
                    unit,
                    decimals,
                    {june: Point(str(value), note)},
                    entity=f"branch:{branch}",
                    ratio=ratio,
                    annual_growth=4.0 if ratio else 0.3,
                    noise=0.3 if ratio else 0.004,
                )
            )
    return series


def _private_banking() -> list[Series]:
    lob, june = "private_banking", "2020-06"
    series = [
        Series(
            lob, "pb_clients", "万户", 2, {june: Point("10.5")}, annual_growth=0.22, noise=0.003
        ),
        Series(lob, "pb_aum", "万亿元", 3, {june: Point("1.8")}, annual_growth=0.14),
        Series(
            lob,
            "pb_clients_peer",
            "万户",
            2,
            {june: Point("16.9")},
            annual_growth=0.15,
            noise=0.003,
        ),
        Series(
            lob, "pb_clients_peer_rank", "位", 0, {june: Point("1")}, annual_growth=0.0, noise=0.0
        ),
        Series(lob, "pb_aum_peer", "万亿元", 3, {june: Point("2.09")}, annual_growth=0.12),
        Series(lob, "pb_fx_clients", "万户", 2, {june: Point("5.2")}, annual_growth=0.2),
        Series(
            lob,
            "pb_fx_penetration",
            "%",
            1,
            {june: Point("30", qualifier="超过")},
            ratio=True,
            annual_growth=3.0,
            noise=0.3,
        ),
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
    return series + _branch_spotlights(lob, june)


def all_series() -> list[Series]:
    return _mobile_banking() + _credit_card() + _precious_metals() + _private_banking()


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
        from strategy_briefs.catalogue import load_catalogue
        from strategy_briefs.config import PROJECT_ROOT

        catalogue = load_catalogue(PROJECT_ROOT / "dbt_project" / "seeds")
    return {code: kpi.display_order for code, kpi in catalogue.kpis.items()}


def _write_csv(path: Path, rows: Iterable[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def write_sample(incoming_dir: Path, catalogue=None) -> list[Path]:
    """Write the bundled sample under `incoming_dir`; returns the files written."""
    written = []
    for (month, lob), rows in sample_rows(catalogue).items():
        path = Path(incoming_dir) / month / f"{lob}.csv"
        _write_csv(path, (row.as_tuple() for row in rows))
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

    _write_csv(Path(path), generate())
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from strategy_briefs.config import PROJECT_ROOT

    target = Path(argv[0]) if argv else PROJECT_ROOT / "data" / "incoming"
    written = write_sample(target)
    print(f"wrote {len(written)} files under {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
