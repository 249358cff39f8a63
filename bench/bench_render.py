"""What Chinese costs the renderer: one brief against its Latin-only twin, and the month.

A scratch database gets the bundled history up to the month and one `dbt build`
(untimed). Then, in one fresh process, the month's contexts are built from the marts and:

- **one line-of-business brief**: its HTML is rendered to PDF (WeasyPrint, PDF/A-3b, as
  the pipeline does) alternately with a *Latin-only twin*: the same HTML with every CJK or
  full-width character replaced by two Latin letters (about one em, so lines keep their
  length) and the fonts switched from Noto CJK to DejaVu. Same templates, CSS, tables and
  chart images, same page count (checked), so the ratio is what the Chinese text costs:
  shaping, the CJK collection's font handling and subsetting. Best of several alternating
  rounds after one warm-up of each (the machine is shared: the best round is the least
  disturbed one; the medians are reported beside it).
- **the month's five PDFs**: `strategy-briefs render` of the month in a fresh process,
  timed from outside, with its peak memory (the child's max RSS), beside the five Latin
  twins rendered in the measuring process.

The twin is checked with `pdffonts`: it must embed no CJK font, or it would not be the
Latin baseline it claims to be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import ROOT, Result

MONTH = "2020-06"
NEXT_MONTH = "2020-07"
LOB = "mobile_banking"
ROUNDS = 9

HISTORY = r"""
import sys
from strategy_briefs.config import Settings
from strategy_briefs.orchestration.history import load_history
from strategy_briefs.periods import Period
load_history(Settings.from_env(), before=Period.parse(sys.argv[1]))
"""

# Runs in a fresh process; prints one JSON line with its measurements.
MEASURE = r"""
import json, re, shutil, statistics, subprocess, sys, time
from pathlib import Path
from strategy_briefs import warehouse
from strategy_briefs.briefs.context import build_contexts
from strategy_briefs.briefs.edition import load_edition_config
from strategy_briefs.briefs.facts import (
    load_brief_facts, load_brief_highlights, load_kpi_history, parse_period)
from strategy_briefs.briefs.render import TEMPLATES_DIR, render_html, write_pdf

period, lob, rounds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
params = warehouse.resolve()
facts = load_brief_facts(params, period)
edition, briefs = build_contexts(
    facts, load_kpi_history(params, period, months=24), parse_period(period),
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

# The twin's templates: the same CSS with its words (page footer) in Latin, DejaVu fonts.
twin_templates = out / "templates"
shutil.copytree(TEMPLATES_DIR, twin_templates)
for css in (twin_templates / "css").glob("*.css"):
    css.write_text(latin(css.read_text(encoding="utf-8")), encoding="utf-8")
(twin_templates / "css" / "fonts.css").write_text(latin_fonts, encoding="utf-8")

documents = {"special_edition": render_html(edition)}
documents.update({b.article.lob_code: render_html(b) for b in briefs})
twins = {name: latin(html) for name, html in documents.items()}

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
print(json.dumps({
    "brief": min(brief), "twin": min(twin),
    "brief_median": statistics.median(brief), "twin_median": statistics.median(twin),
    "brief_pages": brief_pages, "twin_pages": twin_pages,
    "brief_chars": sum(len(run) for run in wide.findall(documents[lob])),
    "twin_month": twin_month, "twin_month_pages": sum(twin_month_pages),
    "twin_has_cjk_font": "CJK" in fonts_used, "documents": len(twins),
}))
"""


def run() -> list[Result]:
    import psycopg
    from psycopg import sql

    from strategy_briefs import warehouse

    server = os.environ.get("WAREHOUSE_URL")
    admin = warehouse.parse_url(server) if server else warehouse.resolve()
    dbname = f"sb_bench_render_{uuid.uuid4().hex[:8]}"
    warehouse.create_database_if_missing(admin, dbname)
    scratch = Path(tempfile.mkdtemp(prefix="bench-render-"))
    env = {**os.environ, "WAREHOUSE_URL": admin.with_dbname(dbname).url()}
    try:
        _python(HISTORY, NEXT_MONTH, env=env)
        (scratch / "twins").mkdir()
        measured = json.loads(
            _python(MEASURE, MONTH, LOB, str(ROUNDS), str(scratch / "twins"), env=env)
        )
        month_seconds, month_peak_mb, month_pages = _render_month_cli(scratch / "month", env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with psycopg.connect(admin.with_dbname("postgres").url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )
    return _results(measured, month_seconds, month_peak_mb, month_pages)


def _render_month_cli(out_dir: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """`strategy-briefs render` of the month as an operator runs it: seconds, peak MB, pages."""
    cli = Path(sys.executable).with_name("strategy-briefs")
    log = out_dir.with_suffix(".log")
    started = time.perf_counter()
    with log.open("wb") as output:
        child = subprocess.Popen(
            [str(cli), "render", "--period", MONTH, "--out", str(out_dir)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        # wait4 gives this one child's own resource usage, its max RSS included
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"strategy-briefs render failed:\n{log.read_text()[-2000:]}")
    peak_kb = usage.ru_maxrss
    pages = sum(_page_count(pdf) for pdf in (out_dir / MONTH).glob("*.pdf"))
    return seconds, peak_kb / 1024, pages


def _page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return next(
        int(line.split()[1]) for line in info.stdout.splitlines() if line.startswith("Pages:")
    )


def _results(
    measured: dict, month_seconds: float, peak_mb: float, month_pages: int
) -> list[Result]:
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
    month_ratio = month_seconds / measured["twin_month"]
    month = Result(
        name="Month's five PDFs",
        candidate=f"`strategy-briefs render --period {MONTH}` (fresh process, {month_pages} pages)",
        baseline=f"the {measured['documents']} Latin-only twins"
        f" ({measured['twin_month_pages']} pages), in a warm process",
        candidate_value=month_seconds,
        baseline_value=measured["twin_month"],
        unit="s",
        ratio=month_ratio,
        target="peak memory < 500 MB (ratio informational)",
        passed=peak_mb < 500,
        notes=f"peak memory (max RSS) of the render process {peak_mb:.0f} MB; the candidate"
        " includes the process start, imports, reading the marts and drawing the charts,"
        " which the warm twins do not pay.",
    )
    return [brief, month]


def _python(code: str, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"render benchmark step {' '.join(args)} failed:\n{tail}")
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""
