"""Table-driven tests of every phrasing rule, from facts shaped like marts.brief_facts."""

import re
from dataclasses import replace
from decimal import Decimal as D

import pytest

from strategy_briefs.briefs import narrative
from strategy_briefs.briefs.context import change_cell, kpi_table, rank_cell
from strategy_briefs.briefs.edition import load_edition_config
from strategy_briefs.briefs.numbers import format_points, format_rate_change
from tests.helpers.demo_facts import demo_facts, fact, first_of_four, with_changes

ACTIVE = fact("mb_monthly_active", "7726", "万户")
AMOUNT_YTD = fact("mb_txn_amount_ytd", "31.5", "万亿元")
PENETRATION = fact("mb_pen_managed", "74.09", "%")


@pytest.mark.parametrize(
    ("base", "change", "unit", "which", "expected"),
    [
        (ACTIVE, D("0.177"), "rate", "yoy", "同比增长17.7%"),  # rise, count
        (ACTIVE, D("-0.031"), "rate", "yoy", "同比下降3.1%"),  # fall
        (ACTIVE, D("0"), "rate", "yoy", "同比持平"),  # flat
        (ACTIVE, D("0.00001"), "rate", "yoy", "同比持平"),  # rounds to flat
        (ACTIVE, D("0.012"), "rate", "mom", "环比增长1.2%"),
        (AMOUNT_YTD, D("0.254"), "rate", "yoy", "与去年同期增长25.4%"),  # YTD wording
        (PENETRATION, D("10"), "pp", "yoy", "同比提升10个百分点"),  # ratio by points
        (PENETRATION, D("-2.5"), "pp", "yoy", "同比下降2.5个百分点"),
        (PENETRATION, D("0"), "pp", "yoy", "同比持平"),
        (
            fact("pm_fee_income_ytd", "4.01", "亿元"),
            D("21"),
            "pp",
            "yoy",
            "与去年同期增长21个百分点",
        ),
        # no base: no comparison, never 'None' or '0.0%'
        (ACTIVE, None, "rate", "yoy", None),
        (ACTIVE, None, None, "yoy", None),
        (ACTIVE, D("0.1"), None, "yoy", None),
    ],
)
def test_change_clause(base, change, unit, which, expected):
    field = "yoy_change" if which == "yoy" else "mom_change"
    subject = with_changes(base, **{field: change, "change_unit": unit})
    assert narrative.change_clause(subject, which) == expected


@pytest.mark.parametrize(
    ("overrides", "rank", "lead"),
    [
        (first_of_four("17620000"), "居四行首位", "领先第二名建行1762万户"),
        (first_of_four("17620000", source="computed"), "居四行首位", "领先第二名建行1762万户"),
        (dict(peer_rank=2, peer_count=4, peer_rank_source="computed"), "居四行第二位", None),
        (dict(peer_rank=4, peer_count=4), "居四行第四位", None),
        ({**first_of_four("0")}, "并列四行首位", None),  # a tie: no lead to state
        (dict(peer_rank=1, peer_count=4), "居四行首位", None),  # reported rank, no runner-up
        (dict(peer_rank=3, peer_count=12), "居十二家同业第三位", None),
        ({}, None, None),
    ],
)
def test_rank_and_lead_clauses(overrides, rank, lead):
    subject = fact("mb_customers", "3.85", "亿户", **overrides)
    assert narrative.rank_clause(subject) == rank
    assert narrative.lead_clause(subject) == lead


def test_lead_over_runner_up_keeps_the_kpi_unit():
    amount = fact("pb_aum_peer", "2.09", "万亿元", **first_of_four("150000000000"))
    assert narrative.lead_clause(amount) == "领先第二名建行1500亿元"


@pytest.mark.parametrize(
    ("overrides", "cell"),
    [
        (dict(peer_rank=1, lead_over_runner_up=D("17620000")), "首位"),
        (dict(peer_rank=1, lead_over_runner_up=D("0")), "并列首位"),
        (dict(peer_rank=2), "第二位"),
        (dict(peer_rank=None), "—"),
    ],
)
def test_rank_table_cell_reads_first_second_or_tied(overrides, cell):
    subject = fact("mb_customers", "3.85", "亿户", peer_rank_source="computed", **overrides)
    assert rank_cell(subject) == cell


@pytest.mark.parametrize(
    ("kpi", "value", "unit", "overrides", "which", "cell"),
    [
        ("mb_customers", "3.85", "亿户", dict(yoy_change=D("0.121")), "yoy", "+12.1%"),
        ("mb_customers", "3.85", "亿户", dict(mom_change=D("-0.019")), "mom", "\u22121.9%"),
        (
            "mb_market_share",
            "30",
            "%",
            dict(yoy_change=D("0.8"), change_unit="pp"),
            "yoy",
            "+0.8个百分点",
        ),
        (
            "mb_market_share",
            "30",
            "%",
            dict(mom_change=D("0.0001"), change_unit="pp"),
            "mom",
            "持平",
        ),
        # a YTD KPI's 环比 compares the months' own flows: the cell says 当月
        (
            "mb_txn_count_ytd",
            "369.0",
            "亿笔",
            dict(mom_change=D("-0.083")),
            "mom",
            "当月\u22128.3%",
        ),
        ("mb_txn_count_ytd", "369.0", "亿笔", dict(yoy_change=D("0.218")), "yoy", "+21.8%"),
        ("mb_customers", "3.85", "亿户", dict(yoy_change=None), "yoy", "—"),
    ],
)
def test_change_cell_is_a_signed_figure(kpi, value, unit, overrides, which, cell):
    subject = fact(kpi, value, unit, **{"change_unit": "rate", **overrides})
    assert change_cell(subject, which) == cell


def test_kpi_table_uses_short_names_and_flags_its_notes():
    facts = [
        fact("mb_customers", "3.85", "亿户", peer_rank=1, peer_rank_source="computed"),
        fact("mb_txn_count_ytd", "369.0", "亿笔", mom_change=D("0.05"), change_unit="rate"),
    ]
    table = kpi_table(facts)
    assert [r.name for r in table.rows] == ["客户数", "业务笔数（累计）"]
    assert table.has_month_flows and table.has_computed_ranks and not table.has_demo_data
    assert not kpi_table(facts[:1]).has_month_flows


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (fact("mb_customers", "3.85", "亿户"), "手机银行客户数达到3.85亿户"),
        (fact("mb_txn_count_ytd", "369.0", "亿笔"), "手机银行业务笔数累计达到369.0亿笔"),
        (fact("pm_new_active_accounts_ytd", "83", "万户"), "本年新增有效户累计达到83万户"),
        (
            fact("cc_rongejie_disbursed_cum", "4800", "亿元", qualifier="超过"),
            "融e借累放额超过4800亿元",
        ),
        (fact("pm_card_sales", "20", "万件", qualifier="近"), "前程似锦祝福金卡销量近20万件"),
        (fact("cc_scenarios", "3000", "个", qualifier="余"), "消费金融生态落地场景数达到3000余个"),
        (fact("pm_pool_balance", "53.44", "吨"), "黄金积存资产池余额达到53.44吨"),
        (fact("pm_pool_usd", "29.85", "亿美元"), "黄金积存折外汇存款达到29.85亿美元"),
        (fact("mb_pen_credit_card", "82.5", "%"), "信用卡客户渗透率达到82.5%"),
        (fact("mb_customers", None, None), None),  # missing figure: no clause
    ],
)
def test_level_clause_units_and_qualifiers(subject, expected):
    assert narrative.level_clause(subject) == expected


def _mobile_banking_rules():
    return load_edition_config().article_rules("mobile_banking")


def test_lead_paragraph_reads_like_the_page():
    facts = [f for f in demo_facts() if f.lob_code == "mobile_banking"]
    lead = narrative.lead_paragraph(facts, _mobile_banking_rules())
    assert lead == (
        "截至6月末，手机银行客户数达到3.85亿户，市场占比30%，居四行首位，领先第二名建行1762万户。"
        "手机银行月均动户数达到7726万户，同比增长17.7%，居四行首位，领先第二名建行325万户。"
        "手机银行客户数、月均动户数两项指标均稳居四行首位。"
    )


def test_ytd_paragraph_uses_year_to_date_wording():
    facts = [f for f in demo_facts() if f.lob_code == "mobile_banking"]
    assert narrative.ytd_paragraph(facts, _mobile_banking_rules()) == (
        "上半年，手机银行交易金额累计达到31.5万亿元，与去年同期增长25.4%；"
        "业务笔数累计达到369.0亿笔，与去年同期增长21.8%。"
    )


def test_children_are_stated_inside_their_parent_sentence():
    facts = [f for f in demo_facts() if f.lob_code == "precious_metals"]
    rules = load_edition_config().article_rules("precious_metals")
    lead = narrative.lead_paragraph(facts, rules)
    assert lead.startswith(
        "截至6月末，黄金积存资产池余额达到53.44吨，其中积存金16.48吨、如意金积存35.94吨；"
    )
    paragraphs = narrative.article_paragraphs(facts, rules)
    assert sum(p.count("16.48吨") for p in paragraphs) == 1  # each fact stated once


def test_missing_figures_and_comparisons_write_nothing():
    facts = [
        fact("mb_customers", None, None, **first_of_four("17620000")),  # no value at all
        fact("mb_monthly_active", "7726", "万户", yoy_change=None, change_unit="rate"),
        fact("mb_txn_amount_ytd", "31.5", "万亿元", yoy_change=None, change_unit=None),
    ]
    paragraphs = narrative.article_paragraphs(facts, _mobile_banking_rules())
    text = "".join(paragraphs)
    assert text == (
        "截至6月末，手机银行月均动户数达到7726万户。上半年，手机银行交易金额累计达到31.5万亿元。"
    )
    for bad in ("None", "nan", "0.0%", "同比", "领先", "客户数"):
        assert bad not in text
    rows = kpi_table(facts).rows
    assert [r.name for r in rows] == ["月均动户数", "交易金额（累计）"]
    assert all(cell == "—" for r in rows for cell in (r.mom, r.yoy, r.rank))


def test_neutral_verb_for_a_ratio_where_less_is_better():
    facts = [f for f in demo_facts() if f.lob_code == "credit_card"]
    text = "".join(
        narrative.article_paragraphs(facts, load_edition_config().article_rules("credit_card"))
    )
    assert "融e借不良率为1.37%" in text
    assert "超过4800亿元" in text and "3000余个" in text and "超过7200万户" in text


def _published_tokens(facts):
    """Every number a brief may print: the facts' own figures, their comparisons and leads."""
    tokens = {"6"}  # 截至6月末: the reporting month
    for f in facts:
        for text in (f.value_submitted, narrative.value_text(f)):
            if text:
                tokens.update(re.findall(r"\d+(?:\.\d+)?", text))
        for change in (f.yoy_change, f.mom_change):
            if change is not None:
                shown = (
                    format_points(change)
                    if f.change_unit == "pp"
                    else format_rate_change(change, f.change_decimals)
                )
                tokens.update(re.findall(r"\d+(?:\.\d+)?", shown))
        for derived in (narrative.lead_clause(f), narrative.since_month_clause(f)):
            if derived:  # '领先第二名建行1762万户', '较3月末净增1.19亿美元'
                tokens.update(re.findall(r"\d+(?:\.\d+)?", derived))
    return tokens


def test_every_number_in_the_generated_text_traces_to_a_brief_fact():
    facts = demo_facts()
    config = load_edition_config()
    tokens = _published_tokens(facts)
    for lob in config.lines_of_business:
        lob_facts = [f for f in facts if f.lob_code == lob]
        for paragraph in narrative.article_paragraphs(lob_facts, config.article_rules(lob)):
            for number in re.findall(r"\d+(?:\.\d+)?", paragraph):
                assert number in tokens, f"{number} in {paragraph!r} is not a brief fact"
    # and the lead over the runner-up is the fact's own lead_over_runner_up, scaled
    assert tokens >= {"1762", "325"}


def test_demonstration_data_is_marked_where_it_is_shown():
    # June published, May synthetic: the figure and its 同比 are real, its 环比 is not
    published = fact(
        "mb_monthly_active",
        "7726",
        "万户",
        mom_change=D("0.012"),
        yoy_change=D("0.177"),
        change_unit="rate",
        mom_uses_demo_data=True,
    )
    assert narrative.value_text(published) == "7726万户"
    assert narrative.change_clause(published, "mom") == "环比增长1.2%＊"
    assert narrative.change_clause(published, "yoy") == "同比增长17.7%"
    [row] = kpi_table([published]).rows
    assert (row.value, row.mom, row.yoy) == ("7726万户", "+1.2%＊", "+17.7%")
    synthetic = fact("mb_customers", "3.85", "亿户", is_demo_data=True)
    assert narrative.value_text(synthetic) == "3.85亿户＊"
    assert narrative.level_clause(synthetic) == "手机银行客户数达到3.85亿户＊"


def test_computed_rate_prints_the_decimals_the_catalogue_gives_the_kpi():
    computed = D("83") / D("52.4155") - 1  # 58.3501…%: the page states 58.35%
    two = fact("pm_new_active_accounts_ytd", "83", "万户", yoy_change=computed, change_unit="rate")
    assert two.change_decimals == 2  # from kpi_catalogue.csv
    assert narrative.change_clause(two, "yoy") == "与去年同期增长58.35%"
    one = fact("mb_monthly_active", "7726", "万户", yoy_change=computed, change_unit="rate")
    assert narrative.change_clause(one, "yoy") == "同比增长58.4%"
    round_rate = fact("mb_monthly_active", "7726", "万户", yoy_change=D("0.2"), change_unit="rate")
    assert narrative.change_clause(round_rate, "yoy") == "同比增长20%"


def _pen(code: str, points: str | None, **overrides):
    return fact(
        code,
        "70",
        "%",
        yoy_change=None if points is None else D(points),
        change_unit="pp",
        **overrides,
    )


THRESHOLDS = narrative.DirectionThresholds()  # 2 KPIs, 75% share, median 10, flat under 1
PEN = ["mb_pen_credit_card", "mb_pen_managed", "mb_pen_payroll", "mb_pen_in_branch"]


@pytest.mark.parametrize(
    ("moves", "expected"),
    [
        (["12", "10", "11", "15"], "显著提升"),  # all rose, median 11.5 >= 10
        (["12", "9.9", "9.9", "15"], "显著提升"),  # median exactly 10.95
        (["9", "9.9", "9.9", "9"], "稳步提升"),  # median 9.45 < 10
        (["9", "5", "3", "-1"], "稳步提升"),  # 3 of 4 rose: 75% is enough
        (["9", "5", "-3", "-1"], None),  # half and half: no judgement
        (["-9", "-5", "-3", "1"], "有所回落"),  # 3 of 4 fell
        (["0.9", "-0.5", "0.2", "0"], "保持稳定"),  # every move under 1 point
        (["0.9", "-1", "0.2", "0"], None),  # one move reaches 1: not flat, no majority
        (["12"], None),  # a single KPI is never a theme's judgement
        (["12", "10", None, "15"], None),  # one KPI without a 同比: no judgement
    ],
)
def test_theme_direction_from_the_share_that_rose_and_by_how_much(moves, expected):
    facts = [_pen(code, move) for code, move in zip(PEN, moves, strict=False)]
    assert narrative.theme_direction(facts, THRESHOLDS) == expected


def test_a_fall_of_a_figure_where_less_is_better_is_good_news():
    lower_npl = [
        _pen("mb_pen_managed", "-3", higher_is_better=False),
        _pen("mb_pen_payroll", "-2", higher_is_better=False),
    ]
    assert narrative.theme_direction(lower_npl, THRESHOLDS) == "稳步提升"
    assert narrative.theme_direction(
        [replace(f, higher_is_better=True) for f in lower_npl], THRESHOLDS
    ) == ("有所回落")


def test_themes_make_paragraphs_in_catalogue_order_with_their_judgement():
    rules = replace(
        load_edition_config().article_rules("mobile_banking"),
        theme_subjects={"重点客群渗透": "重点客群渗透率"},
    )
    facts = [
        fact("mb_customers", "3.85", "亿户", is_headline=True),
        fact("mb_personal_customers_total", "6.6", "亿户"),  # no theme: 其他
        *[_pen(code, move) for code, move in zip(PEN, ["12", "11", "10", "15"], strict=True)],
        AMOUNT_YTD,
    ]
    paragraphs = narrative.article_paragraphs(facts, rules)
    assert paragraphs[0].startswith("截至6月末，手机银行客户数达到3.85亿户")
    # 交易 (display order 30) before 重点客群渗透 (60): the catalogue's order
    assert paragraphs[1] == "上半年，手机银行交易金额累计达到31.5万亿元。"
    assert paragraphs[2].startswith("重点客群渗透率显著提升，截至6月末，信用卡客户渗透率达到70%")
    assert paragraphs[3] == "其他主要指标方面，全量个人客户数达到6.6亿户。"
    # without a subject in config the theme is written, but not judged
    plain = narrative.article_paragraphs(facts, replace(rules, theme_subjects={}))
    assert plain[2].startswith("信用卡客户渗透率达到70%")


def test_without_themes_the_article_reads_as_before():
    facts = [replace(f, theme=None) for f in demo_facts() if f.lob_code == "mobile_banking"]
    paragraphs = narrative.article_paragraphs(facts, _mobile_banking_rules())
    assert [p[:6] for p in paragraphs] == ["截至6月末，", "上半年，手机", "其他主要指标"]
