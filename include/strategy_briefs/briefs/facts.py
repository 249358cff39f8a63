"""Typed rows read from the marts: the brief facts, the departments' highlights and the KPI
history behind the charts.

`marts.brief_facts` is the only mart the figures in the text and tables come from (contract
in docs/architecture.md); `marts.brief_highlights` holds the departments' own words;
`marts.fct_kpi_values_monthly` feeds the trend and peer charts. Everything downstream of
these loaders is pure and works without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams


@dataclass(frozen=True)
class BriefFact:
    """One row of `marts.brief_facts`: one KPI of one line of business for the reporting bank,
    or, with `branch_name`, one branch's figure of a KPI its branches submit."""

    brief_fact_key: str
    period: date
    lob_code: str
    kpi_code: str
    kpi_name_zh: str
    kind: str  # count | amount | ratio | weight | rank
    base_unit: str
    display_order: int
    is_headline: bool
    is_ytd: bool
    value_base: Decimal | None
    value_submitted: str | None
    unit_submitted: str | None
    qualifier: str | None  # 超过 | 近 | 余
    mom_change: Decimal | None
    yoy_change: Decimal | None
    change_unit: str | None  # 'rate' (fraction) | 'pp' (points)
    peer_rank: int | None
    peer_rank_source: str | None  # 'computed' | 'reported'
    peer_count: int | None
    runner_up_bank_code: str | None
    runner_up_short_name: str | None
    lead_over_runner_up: Decimal | None
    is_demo_data: bool
    # the comparison rests on demonstration data (the figure, or what it is compared with)
    mom_uses_demo_data: bool = False
    yoy_uses_demo_data: bool = False
    change_decimals: int = 1  # most decimals printed for 同比/环比 (kpi_catalogue)
    kpi_short_name_zh: str = ""  # the table's name: '客户数' (kpi_catalogue.short_name_zh)
    higher_is_better: bool = True  # a rise is good news (kpi_catalogue)
    theme: str | None = None  # the article paragraph it is written in (kpi_catalogue.theme)
    change_since_year_start_base: Decimal | None = None  # 较年初, base units
    # a rise of at least this (points, or %) prints rounded down with 以上 (kpi_catalogue)
    change_round_step: Decimal | None = None
    # judgements needing history (dbt: int_kpi_value_runs)
    rise_streak_months: int | None = None  # months in a row moved the good way
    streak_uses_demo_data: bool = False
    history_years: int | None = None  # years in a row held of this month's span figure
    record_years: int | None = None  # years in a row over which this year's is the highest
    record_uses_demo_data: bool = False
    is_rank_expected: bool = False  # the catalogue ranks this KPI
    lob_expected_rank_count: int = 0  # KPIs the catalogue ranks in this line of business
    # a branch's figure (fct_branch_standings): the branch, its rank among the branches
    branch_name: str | None = None
    branch_rank: int | None = None
    branch_count: int | None = None
    branch_increase_rank: int | None = None  # by the rise since the start of the year
    branch_rank_uses_demo_data: bool = False  # a branch figure of the KPI is demo data
    # the comparison with a named month of the year ('较3月末', kpi_catalogue.since_month)
    since_month: int | None = None
    change_since_month_base: Decimal | None = None
    since_month_uses_demo_data: bool = False


@dataclass(frozen=True)
class HistoryPoint:
    """One month of one KPI for one entity, from `marts.fct_kpi_values_monthly`."""

    period: date
    lob_code: str
    kpi_code: str
    entity_type: str  # bank | branch
    entity_code: str
    value_base: Decimal
    qualifier: str | None
    is_demo_data: bool


@dataclass(frozen=True)
class BriefHighlight:
    """One item of a line of business's highlights, from `marts.brief_highlights`."""

    period: date
    lob_code: str
    item_no: int
    opener: str | None  # the bold summary sentence, if the department wrote one
    body: str


BRIEF_FACT_COLUMNS = tuple(BriefFact.__dataclass_fields__)
BRIEF_HIGHLIGHT_COLUMNS = tuple(BriefHighlight.__dataclass_fields__)

_BRIEF_FACTS_SQL = (
    "select "
    + ", ".join(BRIEF_FACT_COLUMNS)
    + " from marts.brief_facts where period = %(period)s"
    + " order by lob_code, display_order, kpi_code, branch_rank nulls first, branch_name"
)

_BRIEF_HIGHLIGHTS_SQL = (
    "select "
    + ", ".join(BRIEF_HIGHLIGHT_COLUMNS)
    + " from marts.brief_highlights where period = %(period)s order by lob_code, item_no"
)

# Bank-level rows only: branches do not appear on the trend or peer charts.
_HISTORY_SQL = """
select period, lob_code, kpi_code, entity_type, entity_code, value_base, qualifier, is_demo_data
from marts.fct_kpi_values_monthly
where period > %(first_excluded)s and period <= %(period)s
  and entity_type = 'bank' and value_base is not null
order by kpi_code, entity_code, period
"""


def load_brief_facts(params: WarehouseParams, period: Period) -> list[BriefFact]:
    """All brief facts of one month, ordered by line of business and display order."""
    from strategy_briefs import warehouse

    with warehouse.connect(params) as conn:
        rows = conn.execute(_BRIEF_FACTS_SQL, {"period": period.first_day}).fetchall()
    return [BriefFact(*row) for row in rows]


def load_brief_highlights(params: WarehouseParams, period: Period) -> list[BriefHighlight]:
    """The month's highlights, ordered by line of business and item."""
    from strategy_briefs import warehouse

    with warehouse.connect(params) as conn:
        rows = conn.execute(_BRIEF_HIGHLIGHTS_SQL, {"period": period.first_day}).fetchall()
    return [BriefHighlight(*row) for row in rows]


def load_kpi_history(
    params: WarehouseParams, period: Period, months: int = 24
) -> list[HistoryPoint]:
    """Bank-level KPI values of the `months` months ending with `period` (inclusive)."""
    from strategy_briefs import warehouse

    if not 1 <= months <= 120:
        raise ValueError(f"months must be between 1 and 120, got {months}")
    window = {"period": period.first_day, "first_excluded": period.shift(-months).first_day}
    with warehouse.connect(params) as conn:
        rows = conn.execute(_HISTORY_SQL, window).fetchall()
    return [HistoryPoint(*row) for row in rows]
