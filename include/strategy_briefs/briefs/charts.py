"""Small charts as deterministic SVG, drawn the way a banker draws them.

Rules (one function each):
- point-in-time KPIs: a 13-month trend line, the last month marked (`_draw_trend`);
- year-to-date KPIs: this year's cumulative against last year's, month by month from
  January, so the reset every January is never drawn as a fall (`_draw_ytd`);
- peers: one bar per bank, the reporting bank in red and first, one KPI beside the next
  in a strip across the text block (`peer_chart`);
- one theme: colours, the font and the charts' widths are read from the CSS custom properties
  of `templates/css/` (`chart_theme`), so the charts and the page never disagree;
- synthetic history is stamped 演示数据 (`_demo_stamp`);
- matplotlib does no needless work: titles sit at a fixed height (`_rc`), and the margins
  are fixed lengths in mm around the labels' widths counted from their characters
  (`_label_width_mm`, `_grid`, `_place_columns`), not matplotlib's tight_layout, which
  measures every artist of the figure;
- the SVG is lean (`_lean_svg`): labels stay text, and matplotlib's bookkeeping (its
  metadata, the white backgrounds under a white page, groups that carry nothing but an
  id, the rotation by 0° of every label, the clipping of every shape to its axes) is
  dropped, and styles become presentation attributes, because every element, transform,
  clip and style costs WeasyPrint work in every document that prints the chart. Nothing here is drawn outside its axes, so the clips
  cut nothing: the limits are autoscaled with matplotlib's margins around the data, or
  fixed around it (the year-to-date months, 0.5 to 12.5);
- a chart is drawn once for its inputs (`ChartCache`): keyed by the package's hash helper
  over the chart's data, its theme, this module's code and matplotlib's version, so a
  re-render of a month (a retry of the render task, a re-issue, an operator's render)
  reads the SVGs drawn the first time and imports no matplotlib, and any change to what a
  chart would look like draws it anew. The archive's verification draws them anew.

Labels are SVG text ('svg.fonttype': 'none') in the page's CJK sans family: WeasyPrint sets
them with the document's own fonts (found through fontconfig, as the page's are), so they
share its embedded subset instead of being hundreds of glyph outlines. matplotlib still
measures them with that font, which is where a missing glyph is caught. A fixed
'svg.hashsalt' and no 'Date' metadata make the same data give the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
import re
import tempfile
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from strategy_briefs.config import Settings
from strategy_briefs.hashing import file_sha256

DEMO_LABEL = "演示数据"
TREND_MONTHS = 13
THEME_FILES = ("css/variables.css", "css/fonts.css")  # under the templates (Settings)
_CUSTOM_PROPERTY = re.compile(r"--([a-z0-9-]+)\s*:\s*([^;]+);")
_SCALES = ((Decimal(10) ** 12, "万亿"), (Decimal(10) ** 8, "亿"), (Decimal(10) ** 4, "万"))
_PANEL_HEIGHT_MM = 30.0  # one row of trend panels
_PEER_ROW_MM = 3.4  # one bank's bar
# The margins, in mm, that tight_layout(pad=0.3) chose around these charts' labels: their
# font sizes are fixed (`_rc`, `_style_axes`), so the lengths are too.
_MM_PER_PT = 25.4 / 72
_EDGE_MM = 0.3 * 6 * _MM_PER_PT  # the figure's edge to its outermost label (pad 0.3 of 6 pt)
_TITLE_MM = 2.905  # a 6.5 pt title and its 2 pt pad, above its axes
# below a trend panel: its 1.5 pt ticks, 1 pt pad and 5.5 pt month labels, '20.06' or, taller,
# '6月' (the year-to-date panels). The panels' height decides how many y ticks matplotlib
# draws (one per 11 pt), so these are exactly tight_layout's lengths.
_MONTH_DIGITS_MM = 2.879
_MONTH_NAMES_MM = 3.021
_PAST_LAST_MONTH_MM = 1.095  # how far the last month's label reaches right of its axes
_Y_TICK_MM = (1.5 + 1) * _MM_PER_PT  # a trend panel's y tick and the pad to its label
_NAME_PAD_MM = 1.5 * _MM_PER_PT  # a bank's name to its bar (no tick)
_TREND_GAPS_MM = (0.8 * 6 * _MM_PER_PT, 0.5 * 6 * _MM_PER_PT)  # between panels: across, down
_PEER_COLUMN_GAP_MM = 6.0  # between one KPI's value labels and the next KPI's bank names
_TREND_STAMP_MM = 3.5  # the strip above the panels for the 演示数据 stamp
_PEER_STAMP_MM = 3.0
# Character widths in em as matplotlib measures the page's CJK sans at 72 dpi (tight_layout's
# measure, a little over the glyphs' own): digits 6/11, '.', '-' and ',' 4/11, a space 2/11,
# CJK 12/11; any other character as wide as the widest Latin ones ('%', 'W': 10/11), so that
# no label is under-counted.
_DIGIT_EM = 6 / 11
_NARROW_EM = 4 / 11
_SPACE_EM = 2 / 11
_CJK_EM = 12 / 11
_OTHER_EM = 10 / 11
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
# the stylesheet matplotlib writes into every SVG (whitespace normalised)
_MATPLOTLIB_STYLESHEET = "*{stroke-linejoin: round; stroke-linecap: butt}"


class ChartGlyphError(RuntimeError):
    """matplotlib had no glyph for some character of a chart label."""


@dataclass(frozen=True)
class ChartTheme:
    """What the charts share with the page's CSS."""

    accent: str  # --bank-red
    ink: str  # --ink
    peer: str  # --peer-grey
    grid: str  # --grid
    font_family: str  # first family of --sans
    width_mm: float  # --chart-width
    wide_width_mm: float  # --wide-chart-width: the peers, their KPIs side by side


def _css_properties(paths: Sequence[Path]) -> dict[str, str]:
    properties: dict[str, str] = {}
    for path in paths:
        text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
        properties.update((name, value.strip()) for name, value in _CUSTOM_PROPERTY.findall(text))
    return properties


def _mm(css: dict[str, str], name: str) -> float:
    value = css[name]
    if not value.endswith("mm"):
        raise ValueError(f"--{name} must be in mm, got {value!r}")
    return float(value[:-2])


@lru_cache(maxsize=4)
def chart_theme(paths: tuple[Path, ...] | None = None) -> ChartTheme:
    """The chart theme from the CSS custom properties (the templates' THEME_FILES unless
    `paths`); a missing one is an error."""
    paths = paths or tuple(Settings.from_env().templates_dir / name for name in THEME_FILES)
    css = _css_properties(paths)
    try:
        width, wide = _mm(css, "chart-width"), _mm(css, "wide-chart-width")
        return ChartTheme(
            accent=css["bank-red"],
            ink=css["ink"],
            peer=css["peer-grey"],
            grid=css["grid"],
            font_family=css["sans"].split(",")[0].strip().strip("\"'"),
            width_mm=width,
            wide_width_mm=wide,
        )
    except KeyError as missing:
        raise ValueError(f"{paths[0]}: no CSS custom property --{missing.args[0]}") from None


@dataclass(frozen=True)
class TrendSeries:
    """One KPI's monthly values for the reporting bank, oldest first."""

    title: str  # '客户数'
    kind: str
    base_unit: str
    is_ytd: bool
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


@dataclass(frozen=True)
class ChartCache:
    """A folder of drawn charts, one JSON file (SVG and labels) per key (`chart_key`).

    `awaits`: called with the file of a chart not in the folder before the chart counts as
    missing (the renderer waits there for the process that draws the month's charts).
    """

    directory: Path
    awaits: Callable[[Path], None] | None = None

    def get(self, key: str) -> SvgChart | None:
        path = self.directory / f"{key}.json"
        if self.awaits is not None and not path.exists():
            self.awaits(path)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return SvgChart(svg=stored["svg"].encode("utf-8"), texts=tuple(stored["texts"]))

    def put(self, key: str, chart: SvgChart) -> None:
        # written whole under a name of its own, then renamed: a reader never sees half a
        # chart, and two renders storing the same chart at once do not share a file
        self.directory.mkdir(parents=True, exist_ok=True)
        stored = {"svg": chart.svg.decode("utf-8"), "texts": list(chart.texts)}
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self.directory, prefix=key, suffix=".tmp", delete=False
        ) as tmp:
            tmp.write(json.dumps(stored, ensure_ascii=False))
        Path(tmp.name).replace(self.directory / f"{key}.json")


@lru_cache(maxsize=1)
def _drawing_version() -> dict[str, str]:
    """What else decides a chart's bytes: this module's rules and matplotlib's drawing."""
    return {"charts_py": file_sha256(Path(__file__)), "matplotlib": version("matplotlib")}


def _key_rows(kind: str, items: Sequence[TrendSeries | PeerBars], theme: ChartTheme) -> Iterator:
    yield {"chart": kind, **_drawing_version(), **asdict(theme)}
    for index, item in enumerate(items):
        fields = asdict(item)
        values = fields.pop("points" if isinstance(item, TrendSeries) else "banks")
        yield {"chart": kind, "item": index, **fields}
        for at, value in enumerate(values):
            yield {
                "chart": kind,
                "item": index,
                "at": at,
                **{f"v{n}": v for n, v in enumerate(value)},
            }


def chart_key(kind: str, items: Sequence[TrendSeries | PeerBars], theme: ChartTheme) -> str:
    """The hash of everything a chart is drawn from (the package's one hash helper)."""
    from strategy_briefs.delivery.archive import snapshot_hash  # delivery imports the briefs

    return snapshot_hash(_key_rows(kind, items, theme))


def _cached(
    cache: ChartCache | None, key: Callable[[], str], draw: Callable[[], SvgChart]
) -> SvgChart:
    if cache is None:
        return draw()
    name = key()
    chart = cache.get(name)
    if chart is None:
        chart = draw()
        cache.put(name, chart)
    return chart


def axis_scale(kind: str, base_unit: str, values: Sequence[Decimal]) -> tuple[Decimal, str]:
    """(divisor, unit label) for an axis: ratios in %, large counts in 万/亿/万亿."""
    if kind == "ratio":
        return Decimal("0.01"), "%"
    peak = max((abs(v) for v in values), default=Decimal(0))
    for divisor, word in _SCALES:
        if peak >= divisor:
            return divisor, word + base_unit
    return Decimal(1), base_unit


def _rc(theme: ChartTheme) -> dict[str, object]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": "strategy-briefs",
        "font.family": "sans-serif",
        "font.sans-serif": [theme.font_family],
        "font.size": 6,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": theme.peer,
        "axes.linewidth": 0.5,
        "xtick.color": theme.ink,
        "ytick.color": theme.ink,
        "xtick.major.width": 0.5,
        "ytick.major.width": 0.5,
        "path.simplify": True,
        # a fixed title height: matplotlib otherwise measures every tick label on each draw
        # to keep the title clear of top-side ticks, which these charts never have
        "axes.titley": 1.0,
        # transparent backgrounds are not written at all: the page is white already
        "figure.facecolor": "none",
        "axes.facecolor": "none",
        "savefig.facecolor": "none",
    }


def _figure(width_mm: float, height_mm: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=72)


def _to_svg(figure, texts: list[str]) -> SvgChart:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return SvgChart(svg=_lean_svg(buffer.getvalue()), texts=tuple(texts))


def _draws_nothing(element: ET.Element) -> bool:
    """A shape with neither fill nor stroke: the transparent backgrounds."""
    return (
        element.tag == f"{{{_SVG_NS}}}path"
        and element.get("fill") == "none"
        and element.get("stroke", "none") == "none"
    )


def _presentation_attributes(root: ET.Element) -> None:
    """Each element's style as presentation attributes, and matplotlib's stylesheet (its one
    rule, which every element matched) as the root's inherited stroke-linejoin: WeasyPrint
    parses a style attribute with its CSS tokenizer, and matches every element against a
    stylesheet, each time it draws the chart; an attribute it reads as it is."""
    for defs in root.findall(f"{{{_SVG_NS}}}defs"):
        for sheet in defs.findall(f"{{{_SVG_NS}}}style"):
            if " ".join((sheet.text or "").split()) != _MATPLOTLIB_STYLESHEET:
                raise ValueError(f"matplotlib's SVG stylesheet is not the one known: {sheet.text}")
            defs.remove(sheet)
    root.set("stroke-linejoin", "round")  # the sheet's butt caps are SVG's initial value
    for element in root.iter():
        for declaration in element.attrib.pop("style", "").split(";"):
            name, _, value = declaration.partition(":")
            if value.strip():
                element.set(name.strip(), value.strip())


_NO_ROTATION = re.compile(r"rotate\(-?0 [-0-9.e]+ [-0-9.e]+\)")


def _strip_no_ops(root: ET.Element) -> None:
    """Drop the rotations by 0° and the clips to the axes (which cut nothing: the rules)."""
    for element in root.iter():
        if _NO_ROTATION.fullmatch(element.get("transform", "")):
            del element.attrib["transform"]
        element.attrib.pop("clip-path", None)
    for defs in root.findall(f"{{{_SVG_NS}}}defs"):
        for clip in defs.findall(f"{{{_SVG_NS}}}clipPath"):
            defs.remove(clip)
        if not len(defs):
            root.remove(defs)


def _unwrap(parent: ET.Element) -> None:
    """Replace each child group that carries only an id by its children; drop empty ones."""
    children: list[ET.Element] = []
    for child in parent:
        _unwrap(child)
        bare_group = child.tag == f"{{{_SVG_NS}}}g" and set(child.attrib) <= {"id"}
        if bare_group:
            children.extend(child)
        elif not _draws_nothing(child):
            children.append(child)
    parent[:] = children


def _lean_svg(svg: bytes) -> bytes:
    """matplotlib's SVG without what changes nothing: metadata, bare groups, invisible paths,
    rotations by 0°, clips that cut nothing, styles where attributes say the same."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    root = ET.fromstring(svg)
    for metadata in root.findall(f"{{{_SVG_NS}}}metadata"):
        root.remove(metadata)
    _presentation_attributes(root)
    _strip_no_ops(root)
    _unwrap(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _render(draw, theme: ChartTheme) -> SvgChart:
    """Run `draw` under the theme's rcParams, turning missing-glyph warnings into errors."""
    import matplotlib

    with matplotlib.rc_context(_rc(theme)), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = draw()
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if missing:
        raise ChartGlyphError("; ".join(sorted(set(missing))))
    return chart


def _label_width_mm(labels: Sequence[str], size_pt: float) -> float:
    """The widest of `labels` at `size_pt`, counted from its characters (the _EM widths).

    This is the one length of a chart's margins that depends on its data: the trend panels'
    y tick labels (e.g. '-9999.5' is five digits, a '-' and a '.': 5 × 6/11 + 2 × 4/11 em),
    the peer chart's bank names (CJK, 12/11 em each) and its value labels. Counted at
    matplotlib's own widths, the margin is the one tight_layout would give the labels drawn,
    and every label stays inside the figure (tests/briefs/test_brief_charts.py).
    """

    def em(char: str) -> float:
        if char.isdigit():
            return _DIGIT_EM
        if char in ".-,":
            return _NARROW_EM
        if char == " ":
            return _SPACE_EM
        return _CJK_EM if ord(char) >= 0x2E80 else _OTHER_EM

    return max((sum(map(em, label)) for label in labels), default=0.0) * size_pt * _MM_PER_PT


def _y_labels(ax) -> list[str]:
    """The y tick labels matplotlib will draw: those of the ticks inside the axis' view."""
    low, high = sorted(ax.get_ylim())
    slack = (high - low) * 1e-10  # matplotlib's own closeness for a tick at the very edge
    locs = ax.get_yticks()
    labels = ax.yaxis.get_major_formatter().format_ticks(locs)
    return [
        label for loc, label in zip(locs, labels, strict=True) if low - slack <= loc <= high + slack
    ]


def _span(size_mm: float, near_mm: float, far_mm: float, gap_mm: float, count: int):
    """One direction of an axes grid as matplotlib's subplot parameters, from margins and a
    gap in mm: the near (left, bottom) and far edges as fractions of the figure's size, the
    gap as a fraction of the axes' mean size."""
    cell = (size_mm - near_mm - far_mm - (count - 1) * gap_mm) / count
    return near_mm / size_mm, 1 - far_mm / size_mm, gap_mm / cell


def _grid(figure, rows: int, columns: int, top_mm: float, bottom_mm: float, gap_mm: float, **kw):
    """The figure's axes grid, its rows placed: matplotlib's y ticks depend on an axes'
    height (one per 11 pt), so it is set before any tick is asked for."""
    bottom, top, hspace = _span(figure.get_figheight() * 25.4, bottom_mm, top_mm, gap_mm, rows)
    return figure.add_gridspec(rows, columns, bottom=bottom, top=top, hspace=hspace, **kw)


def _place_columns(grid, left_mm: float, right_mm: float, gap_mm: float) -> None:
    """The grid's columns placed (the figure's subplot parameters: `_grid` leaves them)."""
    figure = grid.figure
    left, right, wspace = _span(figure.get_figwidth() * 25.4, left_mm, right_mm, gap_mm, grid.ncols)
    figure.subplots_adjust(left=left, right=right, wspace=wspace)


def _demo_stamp(figure, texts: list[str], theme: ChartTheme) -> None:
    figure.text(0.995, 0.995, DEMO_LABEL, ha="right", va="top", fontsize=5.5, color=theme.peer)
    texts.append(DEMO_LABEL)


def _style_axes(ax, theme: ChartTheme) -> None:
    ax.tick_params(labelsize=5.5, length=1.5, pad=1)
    ax.grid(axis="y", color=theme.grid, linewidth=0.4)
    ax.set_axisbelow(True)


def _draw_trend(ax, item: TrendSeries, theme: ChartTheme, texts: list[str]) -> str:
    """The last 13 months as a line, the latest month marked; returns the axis unit."""
    points = item.points[-TREND_MONTHS:]
    divisor, unit = axis_scale(item.kind, item.base_unit, [v for _, v in points])
    xs = list(range(len(points)))
    ys = [float(v / divisor) for _, v in points]
    ax.plot(xs, ys, color=theme.accent, linewidth=1.0)
    ax.plot(xs[-1:], ys[-1:], "o", color=theme.accent, markersize=2.2)
    labels = [f"{d.year % 100:02d}.{d.month:02d}" for d, _ in points]
    ticks = sorted({0, len(xs) - 1} | {i for i, (d, _) in enumerate(points) if d.month == 1})
    ax.set_xticks(ticks, [labels[t] for t in ticks])
    texts.extend(labels[t] for t in ticks)
    return unit


def _draw_ytd(ax, item: TrendSeries, theme: ChartTheme, texts: list[str]) -> str:
    """This year's cumulative beside last year's, by month from January; returns the unit."""
    year = item.points[-1][0].year
    divisor, unit = axis_scale(item.kind, item.base_unit, [v for _, v in item.points])
    for line_year, colour, width in ((year - 1, theme.peer, 0.8), (year, theme.accent, 1.1)):
        months = [(d.month, float(v / divisor)) for d, v in item.points if d.year == line_year]
        if not months:
            continue
        xs, ys = zip(*months, strict=True)
        label = f"{line_year}年"
        ax.plot(xs, ys, color=colour, linewidth=width, label=label)
        ax.plot(xs[-1:], ys[-1:], "o", color=colour, markersize=2.0)
        texts.append(label)
    ax.set_xlim(0.5, 12.5)
    ax.set_xticks([1, 6, 12], ["1月", "6月", "12月"])
    ax.legend(loc="upper left", fontsize=5, frameon=False, handlelength=1.2, borderaxespad=0.2)
    texts += ["1月", "6月", "12月"]
    return unit


def _trend_rows(series: Sequence[TrendSeries], columns: int, demo: bool):
    """(top, bottom, gap) in mm: each row's titles above, its month labels below, and a
    strip at the top for the 演示数据 stamp, so that it never covers a title."""
    rows = [series[start : start + columns] for start in range(0, len(series), columns)]
    months = [
        _MONTH_NAMES_MM if any(item.is_ytd for item in row) else _MONTH_DIGITS_MM for row in rows
    ]
    top = _EDGE_MM + _TITLE_MM + (_TREND_STAMP_MM if demo else 0)
    gap = _TITLE_MM + max(months[:-1], default=0) + _TREND_GAPS_MM[1]
    return top, _EDGE_MM + months[-1], gap


def _trend_columns(grid, panels: Sequence) -> None:
    """The left margin holds the left panels' y labels, the gap between the columns the
    right panels' and the last month's label of the left ones."""
    columns = grid.ncols
    widths = [_label_width_mm(_y_labels(ax), 5.5) + _Y_TICK_MM for ax in panels]
    # a full-width panel's x margin (5 % of its months) is wider than half a month's label
    past_last = _PAST_LAST_MONTH_MM if columns > 1 else 0.0
    left = _EDGE_MM + max(widths[0::columns])
    gap = max(widths[1::columns], default=0) + past_last + _TREND_GAPS_MM[0]
    _place_columns(grid, left, _EDGE_MM + past_last, gap)


def trend_chart(
    series: Sequence[TrendSeries],
    theme: ChartTheme | None = None,
    cache: ChartCache | None = None,
) -> SvgChart:
    """Small multiples, two panels to a row, each drawn by the rule for its KPI's kind."""
    if not series:
        raise ValueError("trend_chart needs at least one series")
    theme = theme or chart_theme()

    def draw() -> SvgChart:
        columns = 2 if len(series) > 1 else 1
        rows = (len(series) + columns - 1) // columns
        figure = _figure(theme.width_mm, 4 + _PANEL_HEIGHT_MM * rows)
        texts: list[str] = []
        demo = any(item.is_demo_data for item in series)
        grid = _grid(figure, rows, columns, *_trend_rows(series, columns, demo))
        panels = [figure.add_subplot(grid[i // columns, i % columns]) for i in range(len(series))]
        for ax, item in zip(panels, series, strict=True):
            draw_panel = _draw_ytd if item.is_ytd else _draw_trend
            unit = draw_panel(ax, item, theme, texts)
            title = f"{item.title}（{unit}）"
            ax.set_title(title, fontsize=6.5, loc="left", color=theme.ink, pad=2)
            _style_axes(ax, theme)
            texts.append(title)
        _trend_columns(grid, panels)
        if demo:
            _demo_stamp(figure, texts, theme)
        return _to_svg(figure, texts)

    return _cached(cache, lambda: chart_key("trend", series, theme), lambda: _render(draw, theme))


def _peer_columns(grid, bars: Sequence[PeerBars], value_labels: Sequence[tuple[float, str]]):
    """The left margin, and the gap before each next KPI, hold the longest bank name; the
    right margin, and the gap too, any value label that reaches past its axes
    (`value_labels`: where each starts, as a fraction of its axes' width, and its text).
    The x margins leave room for the labels right of positive bars, but bars of a KPI with
    no positive value end at the right edge (a bar's base is sticky to its axis limit)."""
    names = _label_width_mm([name for item in bars for name, _, _ in item.banks], 5.5)
    left = _EDGE_MM + _NAME_PAD_MM + names
    between = _PEER_COLUMN_GAP_MM + _NAME_PAD_MM + names  # a gap, less the labels past axes
    count = grid.ncols
    width = grid.figure.get_figwidth() * 25.4
    # each axes' width with no label past it
    inside = (width - left - _EDGE_MM - (count - 1) * between) / count
    # a label `width` long at `start` of axes `inside - extra` wide ends `extra` past them
    # when width - (1 - start) * (inside - extra) = extra: the largest such `extra` (every
    # axes loses `extra`: once to the right margin, once to each gap)
    extra = max(
        (
            (_label_width_mm([label], 5.5) - (1 - start) * inside) / start
            for start, label in value_labels
            if start > 0
        ),
        default=0.0,
    )
    extra = max(extra, 0.0)
    _place_columns(grid, left, _EDGE_MM + extra, between + extra)


def peer_chart(
    bars: Sequence[PeerBars],
    theme: ChartTheme | None = None,
    cache: ChartCache | None = None,
) -> SvgChart:
    """Horizontal bars per KPI, side by side across the wide width (a short strip under the
    table and the trends), the reporting bank first and in the accent colour."""
    if not bars:
        raise ValueError("peer_chart needs at least one KPI")
    theme = theme or chart_theme()

    def draw() -> SvgChart:
        figure = _figure(theme.wide_width_mm, 8 + _PEER_ROW_MM * max(len(b.banks) for b in bars))
        texts: list[str] = []
        value_labels: list[tuple[float, str]] = []  # (where in its axes' width, label)
        demo = any(item.is_demo_data for item in bars)
        # A strip at the top for the 演示数据 stamp, so that it never covers a title.
        top = _EDGE_MM + _TITLE_MM + (_PEER_STAMP_MM if demo else 0)
        grid = _grid(figure, 1, len(bars), top, _EDGE_MM, 0.0)
        for column, item in enumerate(bars):
            ax = figure.add_subplot(grid[0, column])
            divisor, unit = axis_scale(item.kind, item.base_unit, [v for _, v, _ in item.banks])
            names = [name for name, _, _ in item.banks]
            values = [float(v / divisor) for _, v, _ in item.banks]
            colours = [theme.accent if own else theme.peer for _, _, own in item.banks]
            positions = list(range(len(names)))[::-1]
            ax.barh(positions, values, color=colours, height=0.62)
            ax.set_yticks(positions, names)
            labels = [f"{value:.2f}".rstrip("0").rstrip(".") for value in values]
            for position, value, label in zip(positions, values, labels, strict=True):
                ax.text(value, position, " " + label, va="center", fontsize=5.5, color=theme.ink)
            texts += labels
            title = f"{item.title}（{unit}）"
            ax.set_title(title, fontsize=6.5, loc="left", color=theme.ink, pad=2)
            ax.tick_params(labelsize=5.5, length=0, pad=1.5)
            ax.set_xticks([])
            ax.spines["bottom"].set_visible(False)
            ax.margins(x=0.16)
            low, high = ax.get_xlim()
            starts = [(value - low) / (high - low) for value in values]
            value_labels += zip(starts, (" " + label for label in labels), strict=True)
            texts += [title, *names]
        _peer_columns(grid, bars, value_labels)
        if demo:
            _demo_stamp(figure, texts, theme)
        return _to_svg(figure, texts)

    return _cached(cache, lambda: chart_key("peers", bars, theme), lambda: _render(draw, theme))
