"""The judgements the narrative draws from the data (issue 16.2), one table per rule with
its threshold edges: change steps, streaks, 持续扩大, records and the rank summary."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from strategy_briefs.briefs import narrative
from strategy_briefs.briefs.edition import load_edition_config
from tests.helpers.demo_facts import demo_facts, fact, first_of_four

STREAKS = narrative.StreakThresholds()  # from 3 months; 2 KPIs for 持续扩大
RECORDS = narrative.RecordThresholds()  # from 3 years, at most 5
RANKS = narrative.RankSummaryThresholds()  # from 2 ranked KPIs


def test_the_thresholds_are_read_from_config():
    config = load_edition_config()
    assert config.streaks == STREAKS
    assert (config.records.min_years, config.records.max_years) == (3, 5)
    assert config.rank_summary == RANKS
    rules = config.article_rules("mobile_banking")
    assert rules.streaks is config.streaks and rules.records is config.records


# --- change steps: 同比提升10个百分点以上 -------------------------------------------------


def _managed(points: str | None, step: str | None = "1", **overrides):
    return fact(
        "mb_pen_managed",
        "74.09",
        "%",
        yoy_change=None if points is None else D(points),
        change_unit="pp",
        change_round_step=None if step is None else D(step),
        **overrides,
    )


@pytest.mark.parametrize(
    ("points", "step", "expected"),
    [
        ("10.57", "1", "同比提升10个百分点以上"),  # rounded down to the step
        ("10.01", "1", "同比提升10个百分点以上"),
        ("10", "1", "同比提升10个百分点"),  # exactly on a step: as it is, no 以上
        ("0.99", "1", "同比提升1个百分点"),  # under one step: as computed (rounds to 1.0)
        ("6.4", "5", "同比提升5个百分点以上"),  # a coarser step
        ("-10.57", "1", "同比下降10.6个百分点"),  # a fall is never 提升, never rounded
        ("10.57", None, "同比提升10.6个百分点"),  # the catalogue does not ask for it
        (None, "1", None),  # no 同比, no clause
    ],
)
def test_change_step_rounds_a_rise_down_with_yishang(points, step, expected):
    f = _managed(points, step)
    clauses = narrative.fact_clauses(f)
    changes = [c for c in clauses if c.rule in ("change", "change_step")]
    assert [c.text for c in changes] == ([expected] if expected else [])
    if expected and "以上" in expected:
        assert changes[0].rule == "change_step"


def test_change_step_of_a_rate_and_of_a_ytd_figure():
    rate = fact(
        "mb_txn_amount_ytd",
        "31.5",
        "万亿元",
        yoy_change=D("0.254"),
        change_unit="rate",
        change_round_step=D("5"),
    )
    assert narrative.stepped_change_clause(rate) == "与去年同期增长25%以上"
    marked = replace(_managed("10.57"), yoy_uses_demo_data=True)
    assert narrative.stepped_change_clause(marked) == "同比提升10个百分点以上＊"


def test_the_catalogue_asks_for_steps_where_the_page_prints_yishang():
    by_code = {f.kpi_code: f for f in demo_facts()}
    assert by_code["mb_pen_managed"].change_round_step == D("1")
    assert by_code["mb_pen_new"].change_round_step == D("1")
    assert by_code["mb_monthly_active"].change_round_step is None


# --- streaks: 连续N个月增长 -----------------------------------------------------------------


def _streak(kpi: str, months: int | None, mom: str | None, **overrides):
    values = {"mb_customers": ("3.85", "亿户"), "mb_pen_payroll": ("74.83", "%")}
    values["cc_rongejie_npl"] = ("1.37", "%")
    value, unit = values[kpi]
    return fact(
        kpi,
        value,
        unit,
        rise_streak_months=months,
        mom_change=None if mom is None else D(mom),
        change_unit="pp" if unit == "%" else "rate",
        **overrides,
    )


@pytest.mark.parametrize(
    ("kpi", "months", "mom", "expected"),
    [
        ("mb_customers", 3, "0.01", "连续3个月增长"),  # at the threshold
        ("mb_customers", 2, "0.01", None),  # one under it
        ("mb_customers", 12, "0.01", "连续12个月增长"),
        ("mb_customers", 5, "-0.01", None),  # this month fell: the streak is not said
        ("mb_customers", 5, "0", None),  # flat is not a rise
        ("mb_customers", 5, None, None),  # no 环比 to check it against
        ("mb_customers", None, "0.01", None),
        ("mb_pen_payroll", 4, "0.3", "连续4个月提升"),  # a ratio 提升
        ("cc_rongejie_npl", 4, "-0.02", "连续4个月下降"),  # less is better: a fall is good
        ("cc_rongejie_npl", 4, "0.02", None),  # a rising 不良率 is no good streak
    ],
)
def test_streak_clause(kpi, months, mom, expected):
    assert narrative.streak_clause(_streak(kpi, months, mom), STREAKS) == expected


@pytest.mark.parametrize(
    ("kpi", "yoy", "expected"),
    [
        ("mb_customers", "0.05", "连续4个月增长"),
        ("mb_customers", "0", "连续4个月增长"),  # flat on the year is no contradiction
        ("mb_customers", "-0.05", None),  # '同比下降……，连续4个月增长' is never written
        ("cc_rongejie_npl", "-0.1", "连续4个月下降"),  # 不良率 down on the year: good news
        ("cc_rongejie_npl", "0.1", None),
    ],
)
def test_a_streak_is_never_said_beside_a_year_on_year_fall(kpi, yoy, expected):
    mom = "-0.02" if kpi == "cc_rongejie_npl" else "0.01"
    f = _streak(kpi, 4, mom, yoy_change=D(yoy))
    assert narrative.streak_clause(f, STREAKS) == expected


def test_a_streak_on_demonstration_months_carries_the_mark():
    f = _streak("mb_customers", 6, "0.01", streak_uses_demo_data=True)
    assert narrative.streak_clause(f, STREAKS) == "连续6个月增长＊"


def _scale(months: int | None = 6, yoy: str | None = "0.05", mom: str = "0.01"):
    customers = fact(
        "mb_customers",
        "3.85",
        "亿户",
        rise_streak_months=months,
        mom_change=D(mom),
        yoy_change=None if yoy is None else D(yoy),
        change_unit="rate",
    )
    share = fact(
        "mb_market_share",
        "30",
        "%",
        rise_streak_months=months,
        mom_change=D("0.1"),
        yoy_change=None if yoy is None else D(yoy) * 10,
        change_unit="pp",
    )
    return [customers, share]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (_scale(), "客户规模持续扩大"),  # 稳步提升 with streaks everywhere
        (_scale(yoy=None), "客户规模持续扩大"),  # no 同比, but months of rises
        (_scale(yoy="0.5"), "客户规模显著提升"),  # the stronger word wins
        (_scale(months=2), "客户规模稳步提升"),  # a streak too short
        (_scale(yoy="-0.05"), "客户规模有所回落"),  # fell year on year: never 扩大
        (_scale()[:1], None),  # a single KPI is not a theme's trend
    ],
)
def test_theme_judgement_says_sustained_only_where_every_kpi_kept_rising(facts, expected):
    rules = load_edition_config().article_rules("mobile_banking")
    judgement = narrative.theme_judgement(facts, rules)
    assert (judgement.text if judgement else None) == expected
    if judgement:
        assert set(judgement.fact_keys) == {f.brief_fact_key for f in facts}


# --- records: 达五年来最高水平, 创历史新高 ----------------------------------------------------


def _clients(years, held, rise="10000", **overrides):
    return fact(
        "pb_clients",
        "10.5",
        "万户",
        record_years=years,
        history_years=held,
        change_since_year_start_base=None if rise is None else D(rise),
        **overrides,
    )


@pytest.mark.parametrize(
    ("years", "held", "rise", "expected"),
    [
        (5, 5, "10000", "上半年增量达五年来最高水平"),
        (3, 3, "10000", "上半年增量达三年来最高水平"),  # at the threshold
        (2, 2, "10000", None),  # one under: the sample's 19 months never earn a record
        (7, 9, "10000", "上半年增量达五年来最高水平"),  # never more than max_years
        (3, 6, "10000", "上半年增量达三年来最高水平"),  # beaten four years back: three
        (5, 5, "0", None),  # no rise: no record
        (5, 5, "-10000", None),
        (5, 5, None, None),
        (None, None, "10000", None),
    ],
)
def test_record_clause_claims_no_more_years_than_held(years, held, rise, expected):
    assert narrative.record_clause(_clients(years, held, rise), RECORDS) == expected


def test_all_time_high_only_when_the_history_reaches_the_first_year():
    launched = replace(RECORDS, first_years={"pb_clients": 2016})
    assert narrative.record_clause(_clients(5, 5), launched) == "上半年增量创历史新高"  # 2016-20
    assert narrative.record_clause(_clients(4, 4), launched) == "上半年增量达四年来最高水平"
    assert narrative.record_clause(_clients(4, 5), launched) == "上半年增量达四年来最高水平"


def test_a_ytd_record_checks_its_own_growth():
    ytd = fact(
        "mb_txn_amount_ytd",
        "31.5",
        "万亿元",
        record_years=4,
        history_years=4,
        yoy_change=D("0.254"),
        change_unit="rate",
        record_uses_demo_data=True,
    )
    assert narrative.record_clause(ytd, RECORDS) == "达四年来最高水平＊"
    fell = replace(ytd, yoy_change=D("-0.01"))
    assert narrative.record_clause(fell, RECORDS) is None  # below last year: no record
    npl = fact("cc_rongejie_npl", "1.37", "%", record_years=5, history_years=5)
    assert narrative.record_clause(npl, RECORDS) is None  # less is better: no records
    point = _clients(5, 5, yoy_change=D("-0.2"), change_unit="rate")
    assert narrative.record_clause(point, RECORDS) is None  # rose since December, down on the year


# --- rank summary: 两项指标均稳居四行首位 ---------------------------------------------------


def _mobile(**changes):
    by_code = {f.kpi_code: f for f in demo_facts() if f.lob_code == "mobile_banking"}
    for code, change in changes.items():
        if change is None:
            del by_code[code]
        else:
            by_code[code] = replace(by_code[code], **change)
    return list(by_code.values())


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "手机银行客户数、月均动户数两项指标均稳居四行首位"),
        ({"mb_monthly_active": {"peer_rank": 2}}, None),  # one is second
        ({"mb_monthly_active": {"lead_over_runner_up": D(0)}}, None),  # tied: not 稳居
        ({"mb_monthly_active": {"peer_rank": None}}, None),  # one the catalogue ranks is unranked
        ({"mb_monthly_active": None}, None),  # one is missing altogether: never 均
        ({"mb_monthly_active": {"peer_count": 3}}, None),  # not the same peers
        (  # a third, computed rank (no rank row in the catalogue) joins the count
            {"mb_market_share": first_of_four("0.02", "computed")},
            "手机银行客户数、市场占比、月均动户数三项指标均稳居四行首位",
        ),
    ],
)
def test_rank_summary_needs_every_ranked_kpi_first(changes, expected):
    assert narrative.rank_summary(_mobile(**changes), RANKS, "手机银行") == expected


def test_more_ranked_kpis_than_max_are_not_listed():
    ranked = first_of_four("1", "computed")
    codes = ["mb_market_share", "mb_pen_credit_card", "mb_pen_managed"]
    five = _mobile(**{code: ranked for code in codes})  # five firsts
    assert narrative.rank_summary(five, RANKS, "手机银行") is None
    four = _mobile(**{code: ranked for code in codes[:2]})
    assert narrative.rank_summary(four, RANKS, "手机银行").endswith("四项指标均稳居四行首位")


def test_a_single_ranked_kpi_is_not_summed_up():
    private = [f for f in demo_facts() if f.lob_code == "private_banking"]
    assert narrative.rank_summary(private, RANKS, "私人银行") is None


def test_the_summary_closes_the_lead_and_names_its_facts():
    rules = load_edition_config().article_rules("mobile_banking")
    [lead, *_] = narrative.traced_article(_mobile(), rules)
    last = lead.sentences[-1]
    assert last.text == "手机银行客户数、月均动户数两项指标均稳居四行首位。"
    assert last.rules == ("rank_summary",)
    assert set(last.fact_keys) == {"2020-06|mobile_banking|mb_customers"} | {
        "2020-06|mobile_banking|mb_monthly_active"
    }


def test_a_threshold_changed_in_config_changes_the_text(tmp_path):
    import yaml

    from strategy_briefs.config import Settings

    config_file = Settings.from_env().briefs_config_file
    raw = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    raw["judgements"]["streaks"]["min_months"] = 5
    raw["judgements"]["records"]["min_years"] = 2
    raw["judgements"]["rank_summary"]["min_kpis"] = 3
    changed = tmp_path / "briefs.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    config = load_edition_config(changed)
    four = _streak("mb_customers", 4, "0.01")
    assert narrative.streak_clause(four, config.streaks) is None  # 4 < 5 now
    assert narrative.record_clause(_clients(2, 2), config.records) == "上半年增量达两年来最高水平"
    assert narrative.rank_summary(_mobile(), config.rank_summary, "手机银行") is None


def test_wording_for_a_line_of_business_the_catalogue_lacks_is_refused(tmp_path):
    """The catalogue says which lines of business there are; the config only words them."""
    import yaml

    from strategy_briefs.config import Settings

    raw = yaml.safe_load(Settings.from_env().briefs_config_file.read_text(encoding="utf-8"))
    raw["lines_of_business"]["wealth_management"] = {"headline": "财富管理业务扎实推进"}
    changed = tmp_path / "briefs.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="wealth_management, not in the catalogue"):
        load_edition_config(changed)
    config = load_edition_config()
    assert config.reporting_bank_code == config.catalogue.reporting_bank.bank_code == "icbc"
    assert set(config.wording) == set(config.catalogue.lines_of_business)
