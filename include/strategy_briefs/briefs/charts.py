"""Small charts as deterministic SVG: a trend of the headline KPIs and a bar chart against peers.

matplotlib draws text as paths ('svg.fonttype': 'path') in the same CJK font as the page, so
the SVG needs no font at print time; a fixed 'svg.hashsalt' and no 'Date' metadata make the
same data give the same bytes.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

SANS_FONT = "Noto Sans CJK SC"
BANK_RED = "#c7000b"
GREY = "#8c8c8c"
DEMO_LABEL = "演示数据"

_RC = {
    "svg.fonttype": "path",
    "svg.hashsalt": "strategy-briefs",
    "svg.image_inline": True,
    "font.family": "sans-serif",
    "font.sans-serif": [SANS_FONT],
    "font.size": 7,
    "axes.unicode_minus": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": GREY,
    "axes.labelcolor": "#333333",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "path.simplify": False,
}
_SCALES = ((Decimal(10) ** 12, "万亿"), (Decimal(10) ** 8, "亿"), (Decimal(10) ** 4, "万"))


class ChartGlyphError(RuntimeError):
    """matplotlib had no glyph for some character of a chart label."""


@dataclass(frozen=True)
class TrendSeries:
    """One KPI's monthly values for the reporting bank."""

    title: str  # '手机银行客户数'
    kind: str
    base_unit: str
    points: tuple[tuple[date, Decimal], ...]
    is_demo_data: bool


@dataclass(frozen=True)
class PeerBars:
    """One KPI's values for the period, one bar per bank; the reporting bank first."""

    title: str
    kind: str
    base_unit: str
    banks: tuple[tuple[str, Decimal, bool], ...]  # (short name, value, is reporting bank)
    is_demo_data: bool


@dataclass(frozen=True)
class SvgChart:
    svg: bytes
    texts: tuple[str, ...]  # every label drawn, for the glyph check

    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


def axis_scale(kind: str, base_unit: str, values: Sequence[Decimal]) -> tuple[Decimal, str]:
    """(divisor, unit label) for an axis: ratios in %, large counts in 万/亿/万亿."""
    if kind == "ratio":
        return Decimal("0.01"), "%"
    peak = max((abs(v) for v in values), default=Decimal(0))
    for divisor, word in _SCALES:
        if peak >= divisor:
            return divisor, word + base_unit
    return Decimal(1), base_unit


def _figure(width_mm: float, height_mm: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=72)


def _to_svg(figure, texts: list[str]) -> SvgChart:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return SvgChart(svg=buffer.getvalue(), texts=tuple(texts))


def _render(draw) -> SvgChart:
    """Run `draw` under our rcParams, turning matplotlib's missing-glyph warnings into errors."""
    import matplotlib

    with matplotlib.rc_context(_RC), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = draw()
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if missing:
        raise ChartGlyphError("; ".join(sorted(set(missing))))
    return chart


def _demo_stamp(figure, texts: list[str]) -> None:
    figure.text(0.995, 0.995, DEMO_LABEL, ha="right", va="top", fontsize=6, color=GREY)
    texts.append(DEMO_LABEL)


def trend_chart(series: Sequence[TrendSeries], width_mm: float = 82.0) -> SvgChart:
    """Small multiples, one line per headline KPI (two per row)."""
    if not series:
        raise ValueError("trend_chart needs at least one series")

    def draw() -> SvgChart:
        columns = 2 if len(series) > 1 else 1
        rows = (len(series) + columns - 1) // columns
        figure = _figure(width_mm, 8 + 34 * rows)
        texts: list[str] = []
        axes = figure.subplots(rows, columns, squeeze=False)
        for index, item in enumerate(series):
            ax = axes[index // columns][index % columns]
            values = [v for _, v in item.points]
            divisor, unit = axis_scale(item.kind, item.base_unit, values)
            xs = list(range(len(item.points)))
            ys = [float(v / divisor) for v in values]
            ax.plot(xs, ys, color=BANK_RED, linewidth=1.2)
            ax.plot(xs[-1:], ys[-1:], "o", color=BANK_RED, markersize=2.5)
            title = f"{item.title}（{unit}）"
            ax.set_title(title, fontsize=7, loc="left")
            labels = [f"{d.year % 100:02d}.{d.month}" for d, _ in item.points]
            step = max(1, len(xs) // 4)
            ticks = xs[::step] if xs[-1] in xs[::step] else [*xs[::step][:-1], xs[-1]]
            ax.set_xticks(ticks, [labels[t] for t in ticks])
            ax.tick_params(labelsize=6, length=2)
            ax.grid(axis="y", color="#e6e6e6", linewidth=0.5)
            texts += [title, *labels]
        for index in range(len(series), rows * columns):
            axes[index // columns][index % columns].set_visible(False)
        demo = any(item.is_demo_data for item in series)
        # Leave a strip at the top for the 演示数据 stamp so it never covers a title.
        figure.tight_layout(pad=0.4, h_pad=0.6, w_pad=0.8, rect=(0, 0, 1, 0.93 if demo else 1))
        if demo:
            _demo_stamp(figure, texts)
        return _to_svg(figure, texts)

    return _render(draw)


def peer_chart(bars: Sequence[PeerBars], width_mm: float = 82.0) -> SvgChart:
    """Horizontal bars per KPI, the reporting bank in red and the peers in grey."""
    if not bars:
        raise ValueError("peer_chart needs at least one KPI")

    def draw() -> SvgChart:
        figure = _figure(width_mm, 8 + sum(9 + 4.5 * len(item.banks) for item in bars))
        texts: list[str] = []
        axes = figure.subplots(len(bars), 1, squeeze=False)
        for index, item in enumerate(bars):
            ax = axes[index][0]
            divisor, unit = axis_scale(item.kind, item.base_unit, [v for _, v, _ in item.banks])
            names = [name for name, _, _ in item.banks]
            values = [float(v / divisor) for _, v, _ in item.banks]
            colours = [BANK_RED if own else GREY for _, _, own in item.banks]
            positions = list(range(len(names)))[::-1]
            ax.barh(positions, values, color=colours, height=0.6)
            ax.set_yticks(positions, names)
            for position, value in zip(positions, values, strict=True):
                label = f"{value:.2f}".rstrip("0").rstrip(".")
                ax.text(value, position, " " + label, va="center", fontsize=6)
                texts.append(label)
            title = f"{item.title}（{unit}）"
            ax.set_title(title, fontsize=7, loc="left")
            ax.tick_params(labelsize=6, length=2)
            ax.set_xticks([])
            ax.spines["bottom"].set_visible(False)
            ax.margins(x=0.18)
            texts += [title, *names]
        demo = any(item.is_demo_data for item in bars)
        figure.tight_layout(pad=0.4, h_pad=0.6, rect=(0, 0, 1, 0.93 if demo else 1))
        if demo:
            _demo_stamp(figure, texts)
        return _to_svg(figure, texts)

    return _render(draw)
