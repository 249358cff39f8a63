"""Brief facts -> HTML (Jinja2) -> archival PDF (WeasyPrint, PDF/A-3b), reproducibly.

`render_documents` is pure (facts and history in, files out); `render_month` reads the marts
first. The same facts, history and templates give byte-identical PDFs: the creation date
comes from the period, the PDF identifier from the content, chart SVGs carry no date. Each
brief carries what it came from (`briefs/provenance.py`), so an archived PDF can be checked
against the warehouse by rendering it again (`delivery/verify.py`).

Set-up is paid once, not once a document: the Jinja environment and the fontconfig/Pango
font map (`_font_config`) live for the process, and the month's five documents share one
image cache (`render_documents`), so a chart printed in the special edition and in its line's
brief is parsed once. The charts themselves are drawn once a month (`briefs/context.py`), in a
process of their own (`_ChartDrawing`), while this one writes each line's brief as soon as
its charts are stored. The month's PDFs are staged and put in place together: a document
that fails leaves no partial month.
"""

from __future__ import annotations

import ctypes
import io
import logging
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from strategy_briefs.briefs.charts import ChartCache
from strategy_briefs.briefs.claims import disagreements
from strategy_briefs.briefs.context import (
    SPECIAL_EDITION_ID,
    LineOfBusinessBriefContext,
    SpecialEditionContext,
    article_contexts,
    brief_context,
    correction_notes,
    edition_context,
    headline_lines,
)
from strategy_briefs.briefs.edition import EditionConfig, load_edition_config
from strategy_briefs.briefs.facts import (
    BriefFact,
    BriefHighlight,
    HistoryPoint,
    load_brief_facts,
    load_brief_highlights,
    load_kpi_history,
)
from strategy_briefs.briefs.provenance import data_snapshot, template_version
from strategy_briefs.briefs.rendered import RenderedBrief
from strategy_briefs.briefs.trace import trace_document, trace_path, write_trace
from strategy_briefs.config import Settings
from strategy_briefs.hashing import file_sha256
from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams

PDF_VARIANT = "pdf/a-3b"
# the drawn charts' folder under the var folder (Settings.var_dir): `chart_cache`
CHART_CACHE_DIRNAME = "chart-cache"
# The embedded CJK fonts every printed character must be in (regular faces; bold has the same cmap).
CJK_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
CJK_FONT_FAMILY_SUFFIX = "CJK SC"
# The child process that draws a month's charts into the cache, in the order of the edition's
# articles (the order their briefs are written): its arguments pickled on stdin.
DRAW_CHARTS = """
import pickle, sys
from pathlib import Path
from strategy_briefs.briefs.charts import ChartCache
from strategy_briefs.briefs.context import build_contexts
build_contexts(*pickle.load(sys.stdin.buffer), chart_cache=ChartCache(Path(sys.argv[1])))
"""
# how often the renderer looks again for a chart the drawing process has not stored yet
CHART_POLL_SECONDS = 0.005
# the staging folder of a render, in the output folder (a rename away from the month's)
STAGING_PREFIX = ".rendering-"
log = logging.getLogger(__name__)
# the colours of a page's preview PNG (first_page_png)
PREVIEW_COLOURS = 64
# glibc's mallopt parameter, and the block size from which allocations get their own mapping
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024


class MissingGlyphError(RuntimeError):
    """Some characters of a brief have no glyph in the embedded CJK font."""

    def __init__(self, brief_id: str, characters: Sequence[str]):
        self.brief_id = brief_id
        self.characters = tuple(characters)
        named = "、".join(f"'{c}' (U+{ord(c):04X})" for c in self.characters)
        super().__init__(f"{brief_id}: no glyph in the CJK font for {named}")


def chart_cache(var_dir: Path) -> ChartCache:
    """The charts drawn by earlier renders on this machine, kept under `var_dir`."""
    return ChartCache(var_dir / CHART_CACHE_DIRNAME)


def special_edition_filename(period: Period) -> str:
    return f"special-edition-{period}.pdf"


def lob_brief_filename(lob_code: str, period: Period) -> str:
    return f"{lob_code}-{period}.pdf"


@lru_cache(maxsize=1)
def _environment(templates_dir: str):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(
    context: SpecialEditionContext | LineOfBusinessBriefContext,
    templates_dir: Path | None = None,
) -> str:
    env = _environment(str(templates_dir or Settings.from_env().templates_dir))
    if isinstance(context, SpecialEditionContext):
        return env.get_template("special_edition.html").render(
            edition=context, meta=context.meta, frame=context.frame
        )
    return env.get_template("lob_brief.html").render(
        brief=context, meta=context.meta, frame=context.frame
    )


class _TextCollector(HTMLParser):
    """The characters a reader sees: body text, not markup, styles or attribute values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_body = False
        self.chars: set[str] = set()

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.in_body = True

    def handle_data(self, data):
        if self.in_body:
            self.chars.update(c for c in data if not c.isspace())


@lru_cache(maxsize=1)
def _cjk_cmap() -> frozenset[int]:
    """Code points present in every CJK font we print with (the SC face of each collection).

    Read from the collections' raw cmap tables through fontTools (which WeasyPrint imports
    anyway): decoding the table with fontTools would name all 65,000 glyphs (0.7 s), and
    FreeType's binding would import matplotlib (0.3 s) into a render that draws no chart.
    """
    covered: frozenset[int] | None = None
    for path in CJK_FONT_FILES:
        points = _unicode_cmap(_sc_face(path).reader["cmap"])
        covered = points if covered is None else covered & points
    return covered or frozenset()


def _sc_face(path: Path):
    """The face of the collection whose family ends in CJK_FONT_FAMILY_SUFFIX (lazily read)."""
    from fontTools.ttLib import TTFont

    for index in range(TTFont(str(path), fontNumber=0, lazy=True).reader.numFonts):
        face = TTFont(str(path), fontNumber=index, lazy=True)
        if face["name"].getDebugName(1).endswith(CJK_FONT_FAMILY_SUFFIX):
            return face
    raise RuntimeError(f"{path}: no face of the family *{CJK_FONT_FAMILY_SUFFIX}")


def _unicode_cmap(table: bytes) -> frozenset[int]:
    """The code points of a cmap table's full-Unicode subtable (Windows UCS-4, format 12)."""
    (count,) = struct.unpack_from(">H", table, 2)
    for record in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", table, 4 + 8 * record)
        if (platform, encoding) == (3, 10) and struct.unpack_from(">H", table, offset)[0] == 12:
            (groups,) = struct.unpack_from(">I", table, offset + 12)
            ranges = struct.iter_unpack(">III", table[offset + 16 : offset + 16 + 12 * groups])
            return frozenset(point for start, end, _ in ranges for point in range(start, end + 1))
    raise RuntimeError("the CJK font has no format-12 Unicode cmap")


def missing_glyphs(text_chars: set[str] | str) -> list[str]:
    cmap = _cjk_cmap()
    return sorted({c for c in text_chars if not c.isspace() and ord(c) not in cmap})


def check_glyphs(brief_id: str, html: str, chart_texts: Sequence[str] = ()) -> None:
    collector = _TextCollector()
    collector.feed(html)
    chars = set(collector.chars)
    for text in chart_texts:
        chars.update(text)
    missing = missing_glyphs(chars)
    if missing:
        raise MissingGlyphError(brief_id, missing)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _weasyprint_warnings() -> Iterator[list[str]]:
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


@lru_cache(maxsize=1)
def _font_config():
    """One font configuration for the process.

    WeasyPrint otherwise builds one per document: fontconfig loads its configuration and
    font list again and Pango opens the CJK collections again, for the same system fonts.
    We use no @font-face (templates/css/fonts.css), so nothing document-specific is added.
    """
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=1)
def _font_copies_back_to_the_os() -> None:
    """Fix glibc's mmap threshold, so each document's font copies are unmapped when freed.

    Writing a PDF, WeasyPrint copies every CJK collection it embeds (19-27 MB each) into
    memory. glibc maps blocks that large and unmaps them when freed, but the first such free
    raises its (dynamic) threshold above them: later documents' copies then land on the heap,
    which fragments and keeps about 20 MB more after each document (the month's peak grew
    from 267 to 300 MB over its five documents). A fixed threshold turns the adjustment off.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: its allocator is its own business
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def write_pdf(
    html: str,
    target: Path,
    templates_dir: Path | None = None,
    *,
    images: dict | None = None,
) -> tuple[int, list[str]]:
    """HTML -> PDF/A-3b at `target`; returns (page count, WeasyPrint warnings).

    `images`: WeasyPrint's image cache (URL -> parsed image), shared by the documents of
    one month so a chart they have in common is parsed once.
    """
    import weasyprint

    _font_copies_back_to_the_os()
    with _weasyprint_warnings() as warnings:
        document = weasyprint.HTML(
            string=html,
            base_url=str(templates_dir or Settings.from_env().templates_dir) + "/",
            media_type="print",
        ).render(pdf_variant=PDF_VARIANT, font_config=_font_config(), cache=images)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".pdf.tmp")
        document.write_pdf(tmp, pdf_variant=PDF_VARIANT)
        tmp.replace(target)
    return len(document.pages), list(warnings)


def _articles(context: SpecialEditionContext | LineOfBusinessBriefContext):
    return context.articles if isinstance(context, SpecialEditionContext) else (context.article,)


def _chart_texts(context: SpecialEditionContext | LineOfBusinessBriefContext) -> list[str]:
    return [
        text for article in _articles(context) for chart in article.charts for text in chart.texts
    ]


@dataclass(frozen=True)
class _Document:
    """One PDF of the month to write: its brief id, title, context and file name."""

    brief_id: str
    title: str
    context: SpecialEditionContext | LineOfBusinessBriefContext
    filename: str


def render_documents(
    facts: Sequence[BriefFact],
    history: Sequence[HistoryPoint],
    period: Period,
    out_dir: Path,
    *,
    corrections: Mapping[str, str] | None = None,
    highlights: Sequence[BriefHighlight] = (),
    config: EditionConfig | None = None,
    config_file: Path | None = None,
    templates_dir: Path | None = None,
    include_lob_briefs: bool = True,
    chart_cache: ChartCache | None = None,
) -> list[RenderedBrief]:
    """Write the special edition and one brief per line of business to `out_dir/<period>/`.

    `corrections`: brief id -> re-issue reason, for the briefs re-issued (更正版); `config`
    is read from `config_file` unless given; paths left out are the project's (`Settings`);
    `chart_cache`: charts drawn before for the same inputs are read from there, new ones
    drawn apart and stored (None: every chart is drawn here; a cache that awaits a drawing
    already, `render_month`'s, is used as it is). Returns the special edition first, then
    the briefs in the edition's order.

    The PDFs are written to a staging folder in `out_dir` and moved into the month's folder
    once every one is written, so a document that fails (a glyph the font lacks) leaves no
    partial month, and an earlier render of the month stays as it was.
    """
    if not facts:
        raise ValueError(f"no brief facts for {period}: nothing to render")
    settings = Settings.from_env()
    templates_dir = templates_dir or settings.templates_dir
    config_file = config_file or settings.briefs_config_file
    config = config or load_edition_config(config_file)
    arguments = (facts, history, period, config, corrections, highlights)
    version = template_version(templates_dir, config_file)
    claims = disagreements(highlights, facts, config.catalogue.units)
    notes = correction_notes(corrections)  # a reason that does not fit fails before any work
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    images: dict = {}  # the month's charts, parsed once for all its documents
    try:
        with _awaiting(chart_cache, arguments) as charts:
            written = [
                (document, *_write_document(document, period, staging, templates_dir, images))
                for document in _documents(arguments, notes, charts, include_lob_briefs)
            ]
        month_dir = out_dir / str(period)
        month_dir.mkdir(exist_ok=True)
        results = []
        for document, pages, warnings in sorted(written, key=_edition_first):
            path, trace = _put_in_place(staging / document.filename, month_dir)
            warnings += [
                c.message for c in claims if document.brief_id in (SPECIAL_EDITION_ID, c.lob_code)
            ]
            results.append(_rendered(document, path, trace, pages, warnings, arguments, version))
        return results
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _documents(
    arguments: tuple, notes: Mapping[str, str], charts: ChartCache | None, include_lob_briefs: bool
) -> Iterator[_Document]:
    """The month's documents in the order they are written: each line's brief as soon as its
    article is built (its charts stored), then the special edition, which prints them all."""
    facts, history, period, config, _, highlights = arguments
    articles = []
    for article in article_contexts(facts, history, period, config, highlights, charts):
        articles.append(article)
        if include_lob_briefs:
            brief = brief_context(article, period, config, notes)
            filename = lob_brief_filename(article.lob_code, period)
            yield _Document(article.lob_code, brief.meta.title, brief, filename)
    edition = edition_context(articles, period, config, notes)
    yield _Document(
        SPECIAL_EDITION_ID, edition.meta.title, edition, special_edition_filename(period)
    )


def _edition_first(written: tuple[_Document, int, list[str]]) -> bool:
    """Sort key: the special edition (False) before the briefs, which keep their order."""
    return written[0].brief_id != SPECIAL_EDITION_ID


def _write_document(
    document: _Document, period: Period, staging: Path, templates_dir: Path, images: dict
) -> tuple[int, list[str]]:
    """Check the document's glyphs, write its PDF and its claims file into `staging`;
    returns (page count, WeasyPrint's warnings). `images`: WeasyPrint's image cache."""
    html = render_html(document.context, templates_dir)
    check_glyphs(document.brief_id, html, _chart_texts(document.context))
    path = staging / document.filename
    pages, warnings = write_pdf(html, path, templates_dir, images=images)
    articles = _articles(document.context)
    write_trace(trace_document(document.brief_id, period, document.title, articles), path)
    return pages, warnings


def _put_in_place(staged: Path, month_dir: Path) -> tuple[Path, Path]:
    """Move a staged PDF and its claims file into the month's folder; returns their paths."""
    path = month_dir / staged.name
    os.replace(trace_path(staged), trace_path(path))
    os.replace(staged, path)
    return path, trace_path(path)


def _rendered(
    document: _Document,
    path: Path,
    trace: Path,
    pages: int,
    warnings: list[str],
    arguments: tuple,
    version: str,
) -> RenderedBrief:
    facts, history, _, _, _, highlights = arguments
    brief_id, context = document.brief_id, document.context
    return RenderedBrief(
        brief_id=brief_id,
        title_zh=document.title,
        path=path,
        sha256=file_sha256(path),
        page_count=pages,
        warnings=tuple(warnings),
        data_snapshot_sha256=data_snapshot(
            facts, highlights, history, None if brief_id == SPECIAL_EDITION_ID else brief_id
        ),
        template_version=version,
        correction_note=context.frame.correction_note,
        headline_lines=headline_lines(_articles(context)),
        demo_notice=context.demo_notice,
        trace_path=trace,
    )


class _ChartDrawing:
    """The month's charts drawn by a child process, while this one writes the documents.

    matplotlib's import and its ~60 MB then never sit in the render process beside the font
    collections, whose copies set the month's peak memory. `render_month` starts the child
    before it reads the marts, so the child's start and imports overlap the reading; a
    render of facts given starts it at the first chart the cache lacks. The child draws only
    what the cache lacks (matplotlib imported only then), in the articles' order. This
    process waits for a chart only until the child stores it (`ChartCache.awaits`), setting
    up what every document needs first (`_set_up_renderer`), so a line's brief is written
    while the next line's charts are drawn. Should the child fail, a chart it did not store
    is drawn here, so its error is raised as drawing raises it.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.child: subprocess.Popen | None = None
        self.arguments: tuple | None = None
        self.errors = tempfile.TemporaryFile()  # a file, not a pipe: nobody need drain it

    def start(self) -> None:
        """Start the child; it waits for its arguments (`cache_for`) on stdin."""
        if self.child is None:
            self.child = subprocess.Popen(
                [sys.executable, "-c", DRAW_CHARTS, str(self.directory)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self.errors,
            )
            if self.arguments is not None:
                self._send()

    def cache_for(self, arguments: tuple, chart_cache: ChartCache) -> ChartCache:
        """`chart_cache` awaiting this drawing of the month's `build_contexts` arguments
        (sent to the child now if it is started, else when it starts)."""
        self.arguments = arguments
        if self.child is not None:
            self._send()
        return replace(chart_cache, awaits=self.wait_for)

    def _send(self) -> None:
        self.child.stdin.write(pickle.dumps(self.arguments))
        self.child.stdin.close()

    def wait_for(self, chart: Path) -> None:
        self.start()
        _set_up_renderer()  # once: what the documents need, while the child draws
        while not chart.exists() and self.child.poll() is None:
            time.sleep(CHART_POLL_SECONDS)
        if not chart.exists() and self.child.returncode:
            self.errors.seek(0)
            errors = self.errors.read().decode(errors="replace")
            log.warning("drawing the charts apart failed: %s", errors[-2000:])

    def close(self, *, failed: bool) -> None:
        """Wait for the child (stop it first if the render failed) and drop its errors."""
        if self.child is not None:
            if failed:
                self.child.kill()
            self.child.wait()
        self.errors.close()


@contextmanager
def _drawing_apart(chart_cache: ChartCache) -> Iterator[_ChartDrawing]:
    """A `_ChartDrawing` into `chart_cache`, closed on the way out."""
    drawing = _ChartDrawing(chart_cache.directory)
    failed = True
    try:
        yield drawing
        failed = False
    finally:
        drawing.close(failed=failed)


@contextmanager
def _awaiting(chart_cache: ChartCache | None, arguments: tuple) -> Iterator[ChartCache | None]:
    """`chart_cache` awaiting a `_ChartDrawing` of `arguments` for what it lacks; as it is if
    it awaits one already (`render_month`'s) or is None (every chart drawn here)."""
    if chart_cache is None or chart_cache.awaits is not None:
        yield chart_cache
        return
    with _drawing_apart(chart_cache) as drawing:
        yield drawing.cache_for(arguments, chart_cache)


def _set_up_renderer() -> None:
    """What every document needs first: WeasyPrint's fonts (its import) and the CJK cmap
    (each made once a process)."""
    _font_config()
    _cjk_cmap()


def render_month(
    params: WarehouseParams,
    period: Period,
    out_dir: Path,
    *,
    corrections: Mapping[str, str] | None = None,
    templates_dir: Path | None = None,
    config_file: Path | None = None,
    chart_cache: ChartCache | None = None,
) -> list[RenderedBrief]:
    """Read one month's brief facts, highlights and KPI history from the marts and render.

    With a `chart_cache`, the process that draws what it lacks is started first, so that
    its start and imports overlap the reading (`_ChartDrawing`), unless the month's edition
    is in `out_dir` already: a re-render (a retry, a re-issue) most likely finds its charts
    cached, and a child started for nothing costs the render its start (it still starts at
    the first chart the cache lacks).
    """
    config = load_edition_config(config_file or Settings.from_env().briefs_config_file)
    with ExitStack() as stack:
        drawing = None
        if chart_cache is not None:
            drawing = stack.enter_context(_drawing_apart(chart_cache))
            if not (out_dir / str(period) / special_edition_filename(period)).exists():
                drawing.start()
        facts = load_brief_facts(params, period)
        history = load_kpi_history(params, period, months=24)
        highlights = load_brief_highlights(params, period)
        if drawing is not None:
            arguments = (facts, history, period, config, corrections, highlights)
            chart_cache = drawing.cache_for(arguments, chart_cache)
        return render_documents(
            facts,
            history,
            period,
            out_dir,
            corrections=corrections,
            highlights=highlights,
            config=config,
            config_file=config_file,
            templates_dir=templates_dir,
            chart_cache=chart_cache,
        )


def _pdftoppm(*arguments: str) -> bytes:
    """poppler's pdftoppm as PNG; returns what it writes to stdout (a page, without a root)."""
    done = subprocess.run(["pdftoppm", "-png", *arguments], check=True, capture_output=True)
    return done.stdout


def write_png_pages(pdf: Path, out_dir: Path, dpi: int = 80) -> list[Path]:
    """Preview PNGs of every page (poppler's pdftoppm), named <pdf stem>-<n>.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _pdftoppm("-r", str(dpi), str(pdf), str(out_dir / pdf.stem))
    return sorted(out_dir.glob(f"{pdf.stem}-*.png"))


def first_page_png(pdf: Path, width_px: int) -> bytes:
    """Page 1 as a PNG `width_px` wide (height keeps the page's proportions), in a palette
    of PREVIEW_COLOURS: the page is red, black and greys, and pdftoppm's full-colour PNG of
    it is three times the bytes for no difference a reader sees (the mail's preview of the
    June edition: 308 KB -> 90 KB)."""
    from PIL import Image

    full_colour = _pdftoppm(
        "-f", "1", "-l", "1", "-scale-to-x", str(width_px), "-scale-to-y", "-1", str(pdf)
    )
    with Image.open(io.BytesIO(full_colour)) as page:
        palette = page.quantize(colors=PREVIEW_COLOURS)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()
