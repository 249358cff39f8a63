"""The page's branch figures and its comparison with a named month (issue 16.6), one table
per rule with its edges: since_month ('较3月末净增1.19亿美元'), branch_mark ('广东、北京、
浙江分行客户站稳万户') and branch_spotlight ('上海分行外汇资产客户渗透率达到58%，排名全行前列')."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from strategy_briefs.briefs import narrative
from strategy_briefs.briefs.edition import load_edition_config
from tests.helpers.demo_facts import branch_fact, branch_facts, client_facts, demo_facts, fact

RULES = load_edition_config().article_rules("private_banking")
BRANCHES = RULES.branches


def test_the_branch_rules_are_read_from_config():
    assert BRANCHES.branch_word == "分行" and BRANCHES.spotlight_words == "排名全行前列"
    assert BRANCHES.spotlight_min_branches == 3
    level, increase = BRANCHES.marks
    assert (level.measure, level.threshold, level.inclusive) == ("level", D(10000), True)
    assert (increase.measure, increase.threshold, increase.inclusive) == (
        "increase",
        D(1000),
        False,
    )


# --- since_month: 较3月末净增1.19亿美元 ------------------------------------------------------


def _usd(change: str | None, month: int = 6, since: int | None = 3, demo: bool = False):
    return fact(
        "pm_pool_usd",
        "29.85",
        "亿美元",
        period=date(2020, month, 1),
        since_month=since,
        change_since_month_base=None if change is None else D(change),
        since_month_uses_demo_data=demo,
    )


@pytest.mark.parametrize(
    ("change", "month", "since", "demo", "expected"),
    [
        ("119000000", 6, 3, False, "较3月末净增1.19亿美元"),
        ("-50000000", 6, 3, False, "较3月末净减5000万美元"),
        ("0", 6, 3, False, "与3月末持平"),
        ("119000000", 6, 3, True, "较3月末净增1.19亿美元＊"),
        ("119000000", 4, 3, False, "较3月末净增1.19亿美元"),  # the month after
        ("119000000", 3, 3, False, None),  # the named month itself
        ("119000000", 2, 3, False, None),  # before it
        (None, 6, 3, False, None),  # the named month not held
        ("119000000", 6, None, False, None),  # the catalogue names no month
    ],
)
def test_since_month(change, month, since, demo, expected):
    assert narrative.since_month_clause(_usd(change, month, since, demo)) == expected


def test_since_month_follows_the_figure_in_its_sentence():
    lead = narrative.article_paragraphs(
        [f for f in demo_facts() if f.lob_code == "precious_metals"],
        load_edition_config().article_rules("precious_metals"),
    )[0]
    assert "黄金积存折外汇存款达到29.85亿美元，较3月末净增1.19亿美元。" in lead


# --- branch_mark: 广东、北京、浙江分行客户站稳万户 ------------------------------------------


LEVEL, INCREASE = BRANCHES.marks


@pytest.mark.parametrize(
    ("rows", "mark", "expected"),
    [
        # at least 1万: exactly 10000 counts, 9999 does not; named by their rank
        (
            [("广东", 13210, 0), ("北京", 10000, 0), ("江苏", 9999, 0)],
            LEVEL,
            "广东、北京分行客户站稳万户",
        ),
        ([("江苏", 9999, 0)], LEVEL, None),
        # more than 1000: 1000 does not count; named by the size of their rise
        (
            [("广东", 13210, 1001), ("北京", 12180, 1500), ("浙江", 10460, 1000)],
            INCREASE,
            "北京、广东分行客户增量超千户",
        ),
        ([("广东", 13210, -1200)], INCREASE, None),  # a fall is no increase
    ],
)
def test_branch_mark(rows, mark, expected):
    assert narrative.branch_mark_clause(client_facts(rows), mark, "分行") == expected


def test_branch_mark_is_marked_when_a_branch_figure_is_demo_data():
    rows = client_facts([("广东", 13210, 0), ("北京", 9000, 0)])
    rows[1] = replace(rows[1], is_demo_data=True)
    assert narrative.branch_mark_clause(rows, LEVEL, "分行") == "广东分行客户站稳万户＊"


# --- branch_spotlight: 上海分行外汇资产客户渗透率达到58%，排名全行前列 --------------------------


def _fx(rank: int, count: int, demo: bool = False):
    return branch_fact(
        "pb_branch_fx_asset_penetration",
        "上海",
        "58",
        "%",
        rank,
        count,
        branch_rank_uses_demo_data=demo,
    )


@pytest.mark.parametrize(
    ("rank", "count", "demo", "expected"),
    [
        (1, 3, False, "排名全行前列"),
        (1, 8, True, "排名全行前列＊"),  # other branches' figures made up
        (1, 2, False, None),  # too few branches to be among the top
        (2, 8, False, None),  # not first
    ],
)
def test_branch_standing(rank, count, demo, expected):
    assert narrative.branch_standing_clause(_fx(rank, count, demo), BRANCHES) == expected


def test_the_branch_paragraph_of_the_demo_month():
    paragraphs = narrative.traced_article(
        [f for f in demo_facts() if f.lob_code == "private_banking"], RULES
    )
    branch = next(p for p in paragraphs if "分行" in p.text)
    assert branch.text.startswith(
        "截至6月末，广东、北京、浙江分行客户站稳万户＊；江苏、广东、山东、浙江、北京分行客户增量超千户＊。"
    )
    for said in (
        "上海分行外汇资产客户渗透率达到58%，排名全行前列＊",
        "北京分行信用卡覆盖率达到79%，排名全行前列＊",
        "江苏分行融e行覆盖率达到96%，排名全行前列＊",
        "浙江分行普惠累计提款金额达到38.6亿元，排名全行前列＊",
    ):
        assert said in branch.text
    # only the first branch of each KPI is written; the others are what it is ranked against
    assert "41%" not in branch.text and "27.3亿元" not in branch.text
    spotlight = next(s for s in branch.sentences if "branch_spotlight" in s.rules)
    keys = {k for c in spotlight.clauses if c.rule == "branch_spotlight" for k in c.fact_keys}
    assert "2020-06|private_banking|pb_branch_fx_asset_penetration|北京" in keys


def test_branch_figures_are_written_only_in_the_branch_paragraph():
    facts = [f for f in demo_facts() if f.lob_code == "private_banking"]
    paragraphs = narrative.article_paragraphs(facts, RULES)
    assert sum("分行" in p for p in paragraphs) == 1
    without = narrative.article_paragraphs([f for f in facts if not f.branch_name], RULES)
    assert without == [p for p in paragraphs if "分行" not in p]
    assert len(branch_facts()) == 6 + 4 * 3
