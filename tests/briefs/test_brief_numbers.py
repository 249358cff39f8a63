from decimal import Decimal

import pytest

from strategy_briefs.briefs.numbers import (
    chinese_ordinal,
    compact_number,
    format_percent,
    format_points,
    format_quantity,
    format_rate_change,
    format_value,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("385000000"), "3.85亿"),
        (Decimal("17620000"), "1762万"),
        (Decimal("3250000"), "325万"),
        (Decimal("31500000000000"), "31.5万亿"),
        (Decimal("2090000000000"), "2.09万亿"),
        (Decimal("36738000"), "3673.8万"),  # derived: fewest exact decimals
        (Decimal("123456789"), "1.23亿"),  # not exact in two decimals: rounded
        (Decimal("53.44"), "53.44"),
        (Decimal("3000"), "3000"),
    ],
)
def test_compact_number_uses_babel_scale_words_with_fewest_exact_decimals(value, expected):
    assert compact_number(value) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # published precision is kept, including a trailing zero
        (dict(value_submitted="369.0", unit_submitted="亿笔"), "369.0亿笔"),
        (dict(value_submitted="3.85", unit_submitted="亿户"), "3.85亿户"),
        (dict(value_submitted="31.5", unit_submitted="万亿元"), "31.5万亿元"),
        (dict(value_submitted="74.09", unit_submitted="%"), "74.09%"),
        (dict(value_submitted="53.44", unit_submitted="吨"), "53.44吨"),
        (dict(value_submitted="29.85", unit_submitted="亿美元"), "29.85亿美元"),
        (dict(value_submitted="20", unit_submitted="万件", qualifier="近"), "近20万件"),
        (dict(value_submitted="4800", unit_submitted="亿元", qualifier="超过"), "超过4800亿元"),
        (dict(value_submitted="3000", unit_submitted="个", qualifier="余"), "3000余个"),
        # a figure submitted in base units is scaled by babel
        (dict(value_submitted="385000000", unit_submitted="户"), "3.85亿户"),
    ],
)
def test_format_value_prints_published_figures_as_published(kwargs, expected):
    kind = "ratio" if kwargs["unit_submitted"] == "%" else "count"
    assert format_value(kind=kind, base_unit="户", value_base=None, **kwargs) == expected


@pytest.mark.parametrize(
    ("kind", "base_unit", "value_base", "qualifier", "expected"),
    [
        ("count", "户", Decimal("77260000"), None, "7726万户"),
        ("amount", "元", Decimal("82000000000"), None, "820亿元"),
        ("ratio", "%", Decimal("0.825"), None, "82.5%"),
        ("ratio", "%", Decimal("0.5"), "超过", "超过50%"),
        ("weight", "吨", Decimal("16.48"), None, "16.48吨"),
        ("count", "个", Decimal("3000"), "余", "3000余个"),
        ("count", "户", None, None, None),
    ],
)
def test_format_value_without_submission_scales_base_value(
    kind, base_unit, value_base, qualifier, expected
):
    assert (
        format_value(kind=kind, base_unit=base_unit, value_base=value_base, qualifier=qualifier)
        == expected
    )


def test_percent_points_and_quantities():
    assert format_percent(Decimal("0.177")) == "17.7%"
    assert format_percent(Decimal("0.5835")) == "58.35%"
    assert format_percent(Decimal("0.3")) == "30%"
    # computed ratios read with one decimal, stated ones keep theirs
    assert format_percent(Decimal("0.123456")) == "12.3%"
    assert format_percent(Decimal("0.2178217822")) == "21.8%"
    assert format_percent(Decimal("0.1770262035")) == "17.7%"
    assert format_percent(Decimal("0.2539808917")) == "25.4%"
    assert format_percent(Decimal("0.58350000001")) == "58.35%"
    assert format_points(Decimal("10.0")) == "10个百分点"
    assert format_points(Decimal("-2.5")) == "2.5个百分点"
    assert format_quantity("count", "户", Decimal("17620000")) == "1762万户"
    assert format_quantity("ratio", "%", Decimal("0.02")) == "2个百分点"


@pytest.mark.parametrize(
    ("n", "word"), [(1, "一"), (2, "二"), (4, "四"), (10, "十"), (12, "十二"), (36, "三十六")]
)
def test_chinese_ordinal(n, word):
    assert chinese_ordinal(n) == word


@pytest.mark.parametrize(
    ("submitted", "unit", "value_base", "base_unit", "expected"),
    [
        # submitted in another scale than the page prints: printed in the page's unit
        ("368000", "亿元", Decimal("36800000000000"), "元", "36.8万亿元"),
        ("3690000", "万笔", Decimal("36900000000"), "笔", "369亿笔"),
        ("0.5", "万亿元", Decimal("500000000000"), "元", "5000亿元"),
        # submitted in the page's unit: the published precision stays
        ("369.0", "亿笔", Decimal("36900000000"), "笔", "369.0亿笔"),
        ("31.5", "万亿元", Decimal("31500000000000"), "元", "31.5万亿元"),
        ("7726", "万户", Decimal("77260000"), "户", "7726万户"),
    ],
)
def test_a_figure_submitted_in_another_scale_is_printed_in_the_pages_unit(
    submitted, unit, value_base, base_unit, expected
):
    assert (
        format_value(
            kind="amount",
            base_unit=base_unit,
            value_base=value_base,
            value_submitted=submitted,
            unit_submitted=unit,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("fraction", "decimals", "expected"),
    [
        (Decimal("0.1114"), 1, "11.1%"),  # computed rates read with one decimal ...
        (Decimal("0.5286"), 1, "52.9%"),
        (Decimal("0.2539808917"), 1, "25.4%"),
        (Decimal("0.2"), 1, "20%"),
        (Decimal("-0.031"), 1, "3.1%"),
        (Decimal("0.583501"), 2, "58.35%"),  # ... two where the catalogue says so
    ],
)
def test_computed_rates_print_the_catalogues_decimals(fraction, decimals, expected):
    assert format_rate_change(fraction, decimals) == expected


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        (Decimal("10.57"), "10.6个百分点"),
        (Decimal("10.0"), "10个百分点"),
        (Decimal("-0.04"), "0个百分点"),
    ],
)
def test_percentage_point_moves_print_one_decimal(points, expected):
    assert format_points(points) == expected
