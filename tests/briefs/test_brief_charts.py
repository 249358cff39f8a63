"""The charts' fixed margins (charts._label_width_mm and the placing around it): every label
of a drawn chart stays inside its figure and clear of the others on its line, measured with
the font's real glyph widths."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest
from PIL import ImageFont

from strategy_briefs.briefs.charts import (
    PeerBars,
    TrendSeries,
    chart_theme,
    peer_chart,
    trend_chart,
)
from strategy_briefs.briefs.render import CJK_FONT_FILES

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = [date(2020 + (8 + n) // 12, (8 + n) % 12 + 1, 1) for n in range(13)]  # 2020-09 on


def _font(family: str) -> ImageFont.FreeTypeFont:
    sans = next(path for path in CJK_FONT_FILES if "Sans" in path.name)
    for index in range(16):  # the collection's faces, one per region
        face = ImageFont.truetype(str(sans), size=100, index=index)
        if face.getname()[0] == family:
            return face
    raise LookupError(family)


def _texts(svg: bytes) -> list[tuple[str, float, float, float]]:
    """Every text of the SVG: (text, start, end, baseline) in pt."""
    theme = chart_theme()
    font = _font(theme.font_family)
    texts = []
    for text in ET.fromstring(svg).iter(f"{SVG}text"):
        assert theme.font_family in text.get("font-family")  # text in the page's font
        content = "".join(text.itertext())
        length = font.getlength(content) * float(text.get("font-size").removesuffix("px")) / 100
        x = float(text.get("x", 0))
        start = {"start": x, "middle": x - length / 2, "end": x - length}[
            text.get("text-anchor", "start")
        ]
        texts.append((content, round(start, 2), round(start + length, 2), float(text.get("y", 0))))
    return texts


def _outside(svg: bytes) -> list[tuple[str, float, float]]:
    """Every text of the SVG reaching past its left or right edge: (text, start, end) in pt."""
    width = float(ET.fromstring(svg).get("width").removesuffix("pt"))
    return [(t, start, end) for t, start, end, _ in _texts(svg) if start < 0 or end > width]


def _overlapping(svg: bytes) -> list[tuple[str, str]]:
    """Every two texts on one line (baselines within 2 pt) whose extents overlap."""
    texts = sorted(_texts(svg), key=lambda text: text[1])
    return [
        (a[0], b[0])
        for i, a in enumerate(texts)
        for b in texts[i + 1 :]
        if abs(a[3] - b[3]) < 2 and b[1] < a[2]
    ]


def _series(title: str, values: list[str], kind: str = "amount") -> TrendSeries:
    points = tuple(zip(MONTHS, map(Decimal, values), strict=True))
    return TrendSeries(title, kind, "元", False, points, is_demo_data=True)


def test_every_label_of_a_chart_stays_inside_its_figure():
    # a share whose drawn labels ('37.5' ... '50.0') are longer than those of a taller panel
    # ('40' ... '50'): measured before the rows were placed, its margin cut them
    share = ["0.380", "0.411", "0.416", "0.391", "0.439", "0.434", "0.467", "0.479", "0.479"]
    share += ["0.447", "0.466", "0.481", "0.502"]
    wide = [str(v) for v in (-9999, -5000, 3, 9999) * 3] + ["-9999.5"]
    narrow = [str(n) for n in range(10, 23)]
    small = [f"0.00{n}" for n in range(1, 10)] + ["-0.001", "0.002", "0.003", "0.001"]
    charts = [
        [_series("线上获客占比", share, "ratio"), _series("贷款余额", wide)],
        [_series("客户数", narrow), _series("交易额", small)],
    ]
    for series in (charts[0] + charts[1], charts[0][:1], charts[1] + charts[0][:1]):
        assert _outside(trend_chart(series).svg) == []
    banks = (("中国工商银行", Decimal(-5), True), ("建行", Decimal(-99999999), False))
    peers = [
        PeerBars("负值", "amount", "元", banks, is_demo_data=False),
        PeerBars("正值", "amount", "元", (("工行", Decimal("99999.99"), True),), False),
    ]
    assert _outside(peer_chart(peers).svg) == []


def test_the_peers_kpis_stand_side_by_side_and_clear_of_each_other():
    """One KPI's longest value label and the next KPI's longest bank name share a line."""
    theme = chart_theme()
    banks = (
        ("中国工商银行", Decimal("99999.99"), True),
        ("建行", Decimal("88888.88"), False),
    )
    peers = [
        PeerBars("客户数", "amount", "户", banks, is_demo_data=True),
        PeerBars("月均动户数", "amount", "户", banks, is_demo_data=True),
    ]
    svg = peer_chart(peers).svg
    root = ET.fromstring(svg)
    width_mm = float(root.get("width").removesuffix("pt")) * 25.4 / 72
    assert abs(width_mm - theme.wide_width_mm) < 0.1  # across the text block
    assert _outside(svg) == []
    assert _overlapping(svg) == []
    titles = [t for t in _texts(svg) if t[0].startswith(("客户数", "月均动户数"))]
    assert len({round(t[3]) for t in titles}) == 1  # one line: side by side, not stacked


def test_a_charts_svg_says_with_attributes_what_matplotlib_says_with_styles():
    """No style attribute and no stylesheet (WeasyPrint parses and matches those at every
    draw of the chart): their declarations are the elements' attributes, the stylesheet's
    round joins the root's."""
    series = [_series("客户数", [str(n) for n in range(10, 23)])]
    bars = [PeerBars("客户数", "amount", "户", (("工行", Decimal(5), True),), False)]
    for svg in (trend_chart(series).svg, peer_chart(bars).svg):
        root = ET.fromstring(svg)
        assert root.get("stroke-linejoin") == "round"
        assert not [e for e in root.iter() if "style" in e.attrib or e.tag == f"{SVG}style"]
        line = next(e for e in root.iter(f"{SVG}path") if e.get("stroke") is not None)
        assert float(line.get("stroke-width")) > 0


def test_a_stylesheet_other_than_matplotlibs_known_one_is_refused():
    """Its rules are dropped for the root's stroke-linejoin only when they are the one rule
    known; a future matplotlib's other rules would be lost silently."""
    from strategy_briefs.briefs.charts import _lean_svg

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><style type="text/css">'
        '*{stroke-linejoin: bevel}</style></defs><path d="M 0 0 L 1 1" '
        'style="stroke: #000"/></svg>'
    )
    with pytest.raises(ValueError, match="stylesheet"):
        _lean_svg(svg.encode())
    known = svg.replace("bevel", "round; stroke-linecap: butt")
    assert b"style" not in _lean_svg(known.encode())
