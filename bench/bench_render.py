"""What Chinese costs the renderer: one brief against its Latin-only twin, and the month.

A scratch database gets the bundled history up to the month and one `dbt build`
(untimed). Then, in one fresh process, the month's contexts are built from the marts and:

- **one line-of-business brief**: its HTML is rendered to PDF (WeasyPrint, PDF/A-3b, as
  the pipeline does) alternately with a *Latin-only twin*: the same HTML with every CJK or
  full-width character replaced by two Latin letters (about one em, so lines keep their
  length) and the fonts switched from Noto CJK to DejaVu, in the charts' SVG labels too.
  Same templates, CSS, tables and charts, same page count (checked), so the ratio is what
  the Chinese text costs: shaping, the CJK collection's font handling and subsetting. Best of several alternating
  rounds after one warm-up of each (the machine is shared: the best round is the least
  disturbed one; the medians are reported beside it).
- **the month's five PDFs**: `strategy-briefs render` of the month in a fresh process,
  timed from outside, with its peak memory (the child's max RSS), beside the five Latin
  twins rendered in the measuring process.
- **the month against the renderer's floor**: the same `strategy-briefs render` against a
  *plain set*: one document per PDF of the month, with its page count and its body text
  (every character a reader sees, the table's included) as plain paragraphs in the same
  faces (Song regular, Hei regular and bold) and no table, grid, columns or chart. The
  plain set is rendered by `write_pdf` in a fresh process of its own, timed from outside
  the same way, so both sides pay the interpreter, WeasyPrint's import and the fonts; the
  gap is what the tables, the layout and the charts cost (and matplotlib, which only the
  month needs). Best of a few alternating rounds after one untimed run of each.
  The month is rendered twice a round, as it is in production: its **first render** with
  an empty chart cache (the charts drawn by matplotlib, as the DAG's first run of the month
  does), then a **re-render** into the same folder that reads them from the cache the first
  one filled (a retry, a re-issue, an operator's `render`). The CLI's var folder is
  a scratch one, so no earlier run's cache is read.

The twin is checked with `pdffonts`: it must embed no CJK font, or it would not be the
Latin baseline it claims to be. The plain set must have each document's page count.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench.harness import (
    LOAD_HISTORY,
    ROOT,
    Result,
    scratch_databases,
    scratch_folder,
    step,
)
from strategy_briefs.briefs.render import CHART_CACHE_DIRNAME
from strategy_briefs.config import venv_executable

MONTH = "2020-06"
NEXT_MONTH = "2020-07"
LOB = "mobile_banking"
ROUNDS = 9
MONTH_ROUNDS = 3
BREAKDOWN_ROUNDS = 3
# WeasyPrint's stages the breakdown times: (owner, function, what it is), in the order shown
STAGES = (
    ("weasyprint.document", "get_all_computed_styles", "CSS cascade"),
    ("weasyprint.layout.block", "columns_layout", "multi-column layout (balancing the columns)"),
    ("weasyprint.layout.block", "table_wrapper_width", "tables (widths and layout)"),
    ("weasyprint.layout.block", "table_layout", "tables (widths and layout)"),
    ("weasyprint.svg.SVG", "draw", "drawing the charts (SVG)"),
    ("weasyprint.pdf", "build_fonts_dictionary", "font subsetting"),
    ("pydyf.PDF", "write", "PDF writing (compression)"),
)

# Runs in a fresh process; prints one JSON line with its measurements.
MEASURE = r"""
import base64, json, re, shutil, statistics, subprocess, sys, time
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from strategy_briefs import warehouse
from strategy_briefs.briefs.context import build_contexts
from strategy_briefs.briefs.edition import load_edition_config
from strategy_briefs.briefs.facts import load_brief_facts, load_brief_highlights, load_kpi_history
from strategy_briefs.periods import Period
from strategy_briefs.briefs.render import render_html, write_pdf
from strategy_briefs.config import Settings

period, lob, rounds, out = Period.parse(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
breakdown_rounds, STAGES = int(sys.argv[5]), json.loads(sys.argv[6])
params = warehouse.resolve()
facts = load_brief_facts(params, period)
edition, briefs = build_contexts(
    facts, load_kpi_history(params, period, months=24), period,
    load_edition_config(), highlights=load_brief_highlights(params, period))
wide = re.compile("[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]+")
latin_fonts = ':root { --serif: "DejaVu Serif", serif; --sans: "DejaVu Sans", sans-serif; }'

words = "the bank grew its mobile and card clients while wealth assets rose in every branch"

def latin_run(match):
    # two Latin characters, in words, per CJK character: about the same width on the page
    width = 2 * len(match.group())
    return ((words + " ") * (width // len(words) + 1))[:width]

def latin(text):
    return wide.sub(latin_run, text)

# The charts' labels are SVG text in the page's CJK sans: the twin's charts get Latin labels
# in DejaVu Sans, as its page does.
chart_uri = re.compile(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)")

def latin_chart(match):
    svg = base64.b64decode(match.group(1)).decode("utf-8")
    svg = latin(svg).replace("Noto Sans CJK SC", "DejaVu Sans")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")

def latin_document(html):
    return latin(chart_uri.sub(latin_chart, html))

# The twin's templates: the same CSS with its words (page footer) in Latin, DejaVu fonts.
twin_templates = out / "templates"
TEMPLATES_DIR = Settings.from_env().templates_dir
shutil.copytree(TEMPLATES_DIR, twin_templates)
for css in (twin_templates / "css").glob("*.css"):
    css.write_text(latin(css.read_text(encoding="utf-8")), encoding="utf-8")
(twin_templates / "css" / "fonts.css").write_text(latin_fonts, encoding="utf-8")

documents = {"special_edition": render_html(edition)}
documents.update({b.article.lob_code: render_html(b) for b in briefs})
twins = {name: latin_document(html) for name, html in documents.items()}

def timed(html, target, templates=TEMPLATES_DIR):
    started = time.perf_counter()
    pages, _ = write_pdf(html, target, templates)
    return time.perf_counter() - started, pages

timed(documents[lob], out / "warm.pdf"); timed(twins[lob], out / "warm-latin.pdf", twin_templates)
brief, twin = [], []
for _ in range(rounds):
    seconds, brief_pages = timed(documents[lob], out / f"{lob}.pdf"); brief.append(seconds)
    seconds, twin_pages = timed(twins[lob], out / f"{lob}-latin.pdf", twin_templates); twin.append(seconds)
started = time.perf_counter()
twin_month_pages = [timed(html, out / f"{name}-latin.pdf", twin_templates)[1] for name, html in twins.items()]
twin_month = time.perf_counter() - started
fonts_used = subprocess.run(["pdffonts", str(out / f"{lob}-latin.pdf")],
                            capture_output=True, text=True, check=True).stdout

# The renderer's floor: each document's page count and reader-visible text, plain.
class Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True); self.body = False; self.parts = []
    def handle_starttag(self, tag, attrs):
        self.body = self.body or tag == "body"
    def handle_data(self, data):
        if self.body and data.strip(): self.parts.append(data.strip())

def plain(html, pages):
    reader = Text(); reader.feed(html); text = "".join(reader.parts)
    per_page = -(-len(text) // pages)
    sections = []
    for start in range(0, len(text), per_page):
        chunk = text[start:start + per_page]; third = -(-len(chunk) // 3)
        paragraphs = [escape(chunk[i:i + third]) for i in range(0, len(chunk), third)]
        sections.append("<section>" + "".join(
            f'<p class="f{i}">{t}</p>' for i, t in enumerate(paragraphs)) + "</section>")
    head = ('<link rel="stylesheet" href="css/fonts.css"><style>@page { size: A4; margin: 19mm 15mm }'
            ' body { font-size: 9pt; line-height: 1.6 } section { break-after: page }'
            ' section:last-child { break-after: auto } .f0 { font-family: var(--serif) }'
            ' .f1 { font-family: var(--sans) } .f2 { font-family: var(--sans); font-weight: 700 }'
            '</style>')
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>floor</title>'
            f'{head}</head><body>{"".join(sections)}</body></html>'), len(text)

floor_dir = out / "floor"; floor_dir.mkdir()
floor_chars = 0
plain_documents = []
for name, html in documents.items():
    pages = timed(html, out / f"{name}.pdf")[1]
    plain_html, chars = plain(html, pages); floor_chars += chars
    plain_documents.append(plain_html)
    (floor_dir / f"{name}.html").write_text(plain_html, encoding="utf-8")
    (floor_dir / f"{name}.pages").write_text(str(pages))

# Where the time goes: WeasyPrint's stages, each timed by a wrapper (in this process only;
# a stage called inside itself, a table in a table, is counted once).
import collections, functools, pydyf, weasyprint.document, weasyprint.layout.block, weasyprint.pdf, weasyprint.svg
spent, depth = collections.Counter(), collections.Counter()

def timing(owner, name, stage):
    original = getattr(owner, name)
    @functools.wraps(original)
    def timed_stage(*args, **kwargs):
        depth[stage] += 1
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            depth[stage] -= 1
            if not depth[stage]:
                spent[stage] += time.perf_counter() - started
    setattr(owner, name, timed_stage)

for owner, name, stage in STAGES:
    timing(eval(owner), name, stage)

def stages(htmls):
    spent.clear(); images = {}; started = time.perf_counter()
    for html in htmls:
        write_pdf(html, out / "stages.pdf", images=images)
    return {"total": time.perf_counter() - started, **spent}

month_stages, plain_stages = [], []
for _ in range(breakdown_rounds):
    month_stages.append(stages(documents.values())); plain_stages.append(stages(plain_documents))
print(json.dumps({
    "month_stages": min(month_stages, key=lambda s: s["total"]),
    "plain_stages": min(plain_stages, key=lambda s: s["total"]),
    "brief": min(brief), "twin": min(twin),
    "brief_median": statistics.median(brief), "twin_median": statistics.median(twin),
    "brief_pages": brief_pages, "twin_pages": twin_pages,
    "brief_chars": sum(len(run) for run in wide.findall(documents[lob])),
    "twin_month": twin_month, "twin_month_pages": sum(twin_month_pages),
    "twin_has_cjk_font": "CJK" in fonts_used, "documents": len(twins),
    "floor_chars": floor_chars,
}))
"""

# The plain set, in a fresh process: prints the pages it got and the pages it should have.
# It leaves as the command does (`cli.console_script`: output flushed, no interpreter
# teardown), so that neither side's time holds the freeing of its objects.
FLOOR = r"""
import json, os, sys
from pathlib import Path
from strategy_briefs.briefs.render import write_pdf
floor, out = Path(sys.argv[1]), Path(sys.argv[2])
got = {}
for html in sorted(floor.glob("*.html")):
    got[html.stem] = write_pdf(html.read_text(encoding="utf-8"), out / f"{html.stem}.pdf")[0]
wanted = {p.stem: int(p.read_text()) for p in floor.glob("*.pages")}
print(json.dumps({"got": got, "wanted": wanted}))
sys.stdout.flush()
os._exit(0)
"""


def run() -> list[Result]:
    with scratch_databases("render") as [params], scratch_folder("render") as scratch:
        env = {**os.environ, "WAREHOUSE_URL": params.url()}
        step("render", LOAD_HISTORY, NEXT_MONTH, env=env)
        (scratch / "twins").mkdir()
        measured = json.loads(
            step(
                "render",
                MEASURE,
                MONTH,
                LOB,
                str(ROUNDS),
                str(scratch / "twins"),
                str(BREAKDOWN_ROUNDS),
                json.dumps(STAGES),
                env=env,
            )
        )
        first, again, floor = _month_against_floor(scratch, env)
    return _results(measured, first, again, floor)


@dataclass(frozen=True)
class Runs:
    """Fresh-process runs of one side: every round's seconds and peak memory."""

    seconds: list[float]
    peak_mb: list[float]
    pages: int


def _month_against_floor(scratch: Path, env: dict[str, str]) -> tuple[Runs, Runs, Runs]:
    """The month's first render, its re-render and the plain set, alternating, one warm-up each.

    Returns (first render, re-render, plain set).
    """
    cli = [str(venv_executable("strategy-briefs")), "render", "--period", MONTH]
    floor = [sys.executable, "-c", FLOOR, str(scratch / "twins" / "floor")]
    first_runs, again_runs, floor_runs = Runs([], [], 0), Runs([], [], 0), Runs([], [], 0)
    # A deployed worker has its bytecode (the image compiles it); let the untimed first round
    # write it, or every timed run would compile its imports again and measure that.
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    var_dir = scratch / "var"
    env["STRATEGY_BRIEFS_VAR"] = str(var_dir)
    for round_ in range(MONTH_ROUNDS + 1):
        first_dir, again_dir = scratch / f"first-{round_}", scratch / f"again-{round_}"
        floor_dir = scratch / f"floor-{round_}"
        shutil.rmtree(var_dir / CHART_CACHE_DIRNAME, ignore_errors=True)
        first = _fresh_process([*cli, "--out", str(first_dir)], env, first_dir)
        shutil.copytree(first_dir / MONTH, again_dir / "first")
        # into the first render's folder, as a retry or a re-issue renders
        again = _fresh_process([*cli, "--out", str(first_dir)], env, again_dir)
        plain = _fresh_process([*floor, str(floor_dir)], env, floor_dir)
        _check_floor_pages(plain[2])
        _check_same_pdfs(again_dir / "first", first_dir / MONTH)
        if round_:  # the first round warms the page cache and the bytecode; untimed
            for runs, (seconds, peak, _) in (
                (first_runs, first),
                (again_runs, again),
                (floor_runs, plain),
            ):
                runs.seconds.append(seconds)
                runs.peak_mb.append(peak)
    month_pages = sum(_page_count(pdf) for pdf in (first_dir / MONTH).glob("*.pdf"))
    floor_pages = sum(_page_count(pdf) for pdf in floor_dir.glob("*.pdf"))
    return (
        Runs(first_runs.seconds, first_runs.peak_mb, month_pages),
        Runs(again_runs.seconds, again_runs.peak_mb, month_pages),
        Runs(floor_runs.seconds, floor_runs.peak_mb, floor_pages),
    )


def _check_same_pdfs(first: Path, again: Path) -> None:
    """The re-render from cached charts must print the same bytes as the first render."""
    for pdf in sorted(first.glob("*.pdf")):
        if pdf.read_bytes() != (again / pdf.name).read_bytes():
            raise RuntimeError(f"{pdf.name}: the re-render from cached charts differs")


def _fresh_process(command: list[str], env: dict[str, str], out_dir: Path):
    """Run `command` as an operator would: (seconds from outside, peak MB, its last line)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir.with_suffix(".log")
    peak = out_dir.with_suffix(".peak")
    # GNU time forks the command from its own small process and reports its max RSS: the
    # bench process's own peak would carry into a child it started (harness.PEAK_MB).
    timed = ["/usr/bin/time", "--format", "%M", "--output", str(peak), *command]
    started = time.perf_counter()
    with log.open("wb") as output:
        done = subprocess.run(timed, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{log.read_text()[-2000:]}")
    lines = log.read_text(encoding="utf-8").strip().splitlines()
    peak_kb = int(peak.read_text().split()[-1])
    return seconds, peak_kb / 1024, lines[-1] if lines else ""


def _check_floor_pages(line: str) -> None:
    counts = json.loads(line)
    if counts["got"] != counts["wanted"]:
        raise RuntimeError(
            f"the plain set's page counts {counts['got']} are not {counts['wanted']}"
        )


def _page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return next(
        int(line.split()[1]) for line in info.stdout.splitlines() if line.startswith("Pages:")
    )


def _results(measured: dict, first: Runs, again: Runs, floor: Runs) -> list[Result]:
    if measured["twin_has_cjk_font"]:
        raise RuntimeError("the Latin-only twin still embeds a CJK font: it is no Latin baseline")
    ratio = measured["brief"] / measured["twin"]
    same_pages = measured["brief_pages"] == measured["twin_pages"]
    brief = Result(
        name="Line-of-business brief vs Latin",
        candidate=f"`write_pdf` of the {LOB} brief, {MONTH} ({measured['brief_pages']} pages)",
        baseline=f"its Latin-only twin, same layout and length ({measured['twin_pages']} pages)",
        candidate_value=measured["brief"],
        baseline_value=measured["twin"],
        unit="s",
        ratio=ratio,
        target="≤ 1.3×, same page count",
        passed=ratio <= 1.3 and same_pages,
        notes=f"best of {ROUNDS} alternating rounds in one process after a warm-up of each"
        f" (medians {measured['brief_median']:.2f} s and {measured['twin_median']:.2f} s,"
        f" ratio {measured['brief_median'] / measured['twin_median']:.2f}: the machine is"
        f" shared, and the best round is the one least disturbed);"
        f" {measured['brief_chars']:,} CJK/full-width characters in the brief's HTML, each two"
        " Latin letters (in words) in the twin; the twin embeds DejaVu only (pdffonts).",
    )
    peak_mb = max(first.peak_mb + again.peak_mb)
    five = Result(
        name="Month's five PDFs",
        candidate=f"`strategy-briefs render --period {MONTH}` (fresh process, {first.pages}"
        " pages, first render: charts drawn)",
        baseline=f"the {measured['documents']} Latin-only twins"
        f" ({measured['twin_month_pages']} pages), in a warm process",
        candidate_value=min(first.seconds),
        baseline_value=measured["twin_month"],
        unit="s",
        ratio=min(first.seconds) / measured["twin_month"],
        target="peak memory < 300 MB (ratio informational)",
        passed=peak_mb < 300,
        notes=f"peak memory (max RSS) of the render process {peak_mb:.0f} MB, the highest of"
        f" {MONTH_ROUNDS} first renders ({', '.join(f'{mb:.0f}' for mb in first.peak_mb)} MB)"
        f" and {MONTH_ROUNDS} re-renders ({', '.join(f'{mb:.0f}' for mb in again.peak_mb)} MB);"
        " the candidate includes the process start, imports, reading the marts and drawing the"
        " charts, which the warm twins do not pay.",
    )
    return [
        brief,
        five,
        _against_floor(
            "Month's renders vs the renderer's floor", "first render", first, floor, measured
        ),
        replace(
            _against_floor(
                "Month's re-render vs the renderer's floor",
                "re-render, charts cached",
                again,
                floor,
                measured,
            ),
            details=_gap(measured, first, again, floor),
        ),
    ]


def _gap(measured: dict, first: Runs, again: Runs, floor: Runs) -> list[str]:
    """Where the month's renders spend the time the plain set does not: its five PDFs and the
    plain set's, each written again in one warm process (MEASURE), stage by stage; the rest of
    a fresh process's time is its start, imports, reading the marts and setting up."""
    month, plain = measured["month_stages"], measured["plain_stages"]
    rows = [
        (
            "the process: start, imports, reading the marts, set-up (fresh process, less its"
            " writing warm)",
            min(again.seconds) - month["total"],
            min(floor.seconds) - plain["total"],
        )
    ]
    names = list(dict.fromkeys(stage for _, _, stage in STAGES))
    rows += [(name, month.get(name, 0.0), plain.get(name, 0.0)) for name in names]
    other = [month["total"] - sum(month.get(n, 0.0) for n in names)]
    other.append(plain["total"] - sum(plain.get(n, 0.0) for n in names))
    rows.append(("the rest: HTML, boxes, lines and pages laid out, text painted", *other))
    lines = [
        "Where the re-render's time goes beside the plain set's (the stages timed by wrappers"
        f" around WeasyPrint's functions, each side's best of {BREAKDOWN_ROUNDS} warm rounds of"
        " its five documents):",
        "",
        "| stage | the month's re-render | the plain set | gap |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {m:.2f} s | {p:.2f} s | {m - p:+.2f} s |" for name, m, p in rows]
    best_again, best_floor = min(again.seconds), min(floor.seconds)
    lines.append(
        f"| **total** (fresh processes) | {best_again:.2f} s | {best_floor:.2f} s"
        f" | {best_again - best_floor:+.2f} s |"
    )
    lines += [
        "",
        f"The first render took {min(first.seconds) - best_again:+.2f} s more than the"
        " re-render (best runs): the charts drawn by matplotlib in a process of its own,"
        " started before the marts are read and drawing on the other core while the briefs"
        " are written, each as soon as its line's charts are stored.",
    ]
    return lines


def _against_floor(name: str, which: str, month: Runs, floor: Runs, measured: dict) -> Result:
    ratio = min(month.seconds) / min(floor.seconds)
    return Result(
        name=name,
        candidate=f"`strategy-briefs render --period {MONTH}` ({which}; fresh process,"
        f" {month.pages} pages)",
        baseline=f"a plain set: the same {floor.pages} pages and body text in 5 documents,"
        " no tables or charts (fresh process)",
        candidate_value=min(month.seconds),
        baseline_value=min(floor.seconds),
        unit="s",
        ratio=ratio,
        target="≤ 2×",
        passed=ratio <= 2 and month.pages == floor.pages,
        notes=f"best of {MONTH_ROUNDS} alternating rounds after one untimed run of each, both"
        " timed from outside (medians"
        f" {statistics.median(month.seconds):.2f} s and {statistics.median(floor.seconds):.2f} s,"
        f" ratio {statistics.median(month.seconds) / statistics.median(floor.seconds):.2f});"
        f" the plain set has {measured['floor_chars']:,} characters of body text in Song"
        " regular, Hei regular and Hei bold; peak memory (max RSS) of the month"
        f" {max(month.peak_mb):.0f} MB, of the plain set {max(floor.peak_mb):.0f} MB.",
    )
