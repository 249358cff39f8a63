"""Numbers in the departments' highlights against the submitted figures (briefs/claims.py)."""

from __future__ import annotations

from datetime import date

import pytest

from strategy_briefs.briefs.claims import agrees, disagreements, find_claims
from strategy_briefs.briefs.facts import BriefHighlight
from tests.helpers.demo_facts import CATALOGUE, demo_facts

UNITS = CATALOGUE.units
MOBILE = [f for f in demo_facts() if f.lob_code == "mobile_banking"]  # 3.85亿户, 82.5% …
CARDS = [f for f in demo_facts() if f.lob_code == "credit_card"]  # 超过7200万户 …


def claims(text: str, facts=MOBILE) -> list[tuple[str, str, bool]]:
    return [(c.fact.kpi_code, c.text, agrees(c)) for c in find_claims(text, facts, UNITS)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # rounded to the precision written, in the unit written
        ("手机银行客户数达到3.9亿户", [("mb_customers", "手机银行客户数达到3.9亿户", True)]),
        ("手机银行客户数达到3.85亿户", [("mb_customers", "手机银行客户数达到3.85亿户", True)]),
        ("手机银行客户数达到38500万户", [("mb_customers", "手机银行客户数达到38500万户", True)]),
        ("手机银行客户数达到3.5亿户", [("mb_customers", "手机银行客户数达到3.5亿户", False)]),
        # ratios in per cent; the short name is a name too
        ("信用卡客户渗透率82.5%", [("mb_pen_credit_card", "信用卡客户渗透率82.5%", True)]),
        ("信用卡客户渗透率达到85%", [("mb_pen_credit_card", "信用卡客户渗透率达到85%", False)]),
        # a change is not the level; a unit of another kind is not a claim
        ("手机银行客户数同比增长12.1%", []),
        ("手机银行客户数较上月增加500万户", []),
        ("手机银行客户数3亿元", []),
        # a clause break ends the claim
        ("手机银行客户数稳步增长，全年新增3000万户", []),
        ("不提指标的数字3.5亿户", []),
    ],
)
def test_a_claim_is_a_named_kpi_with_its_figure(text, expected):
    assert claims(text) == expected


def test_qualifiers_bound_the_figure():
    # e生活注册客户数 was submitted as 超过7200万户 (7,200万 exactly, with its qualifier)
    assert claims("e生活注册客户数超过7200万户", CARDS) == [
        ("cc_elife_registered", "e生活注册客户数超过7200万户", True)
    ]
    assert claims("e生活注册客户数超过7000万户", CARDS)[0][2] is True
    assert claims("e生活注册客户数超过8000万户", CARDS)[0][2] is False  # says more than it is
    assert claims("e生活注册客户数超过5000万户", CARDS)[0][2] is False  # beyond the 20% span
    assert claims("e生活注册客户数近7500万户", CARDS)[0][2] is True
    assert claims("e生活注册客户数近7000万户", CARDS)[0][2] is False  # 近 is at or below
    assert claims("e生活注册客户数7000余万户", CARDS) == [
        ("cc_elife_registered", "e生活注册客户数7000余万户", True)
    ]
    assert claims("e生活注册客户数9000多万户", CARDS)[0][2] is False


def test_disagreements_name_the_item_the_words_and_the_figure():
    month = date(2020, 6, 1)
    items = [
        BriefHighlight(month, "mobile_banking", 1, "规模再上台阶。", "手机银行客户数达到3.9亿户。"),
        BriefHighlight(month, "mobile_banking", 2, None, "信用卡客户渗透率达到85%，稳居同业前列。"),
        BriefHighlight(month, "credit_card", 1, None, "手机银行客户数达到1亿户。"),  # not its KPI
    ]
    found = disagreements(items, demo_facts(), UNITS)
    assert [(d.lob_code, d.item_no) for d in found] == [("mobile_banking", 2)]
    assert found[0].message == (
        "highlights of mobile_banking, item 2: '信用卡客户渗透率达到85%' disagrees with the "
        "submitted mb_pen_credit_card (信用卡客户渗透率) of 82.5%"
    )
