"""Real PDFs: rendered by WeasyPrint, read back with poppler's pdftotext/pdfinfo.

Renders are slow-ish (a couple of seconds per Chinese PDF), so the demo month is rendered
once per module and the other tests render one line of business at most.
"""

import io
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from strategy_briefs.briefs import narrative
from strategy_briefs.briefs.charts import ChartCache, SvgChart
from strategy_briefs.briefs.context import KPI_TABLE_DEMO_NOTE, build_contexts
from strategy_briefs.briefs.edition import load_edition_config
from strategy_briefs.briefs.facts import BriefHighlight
from strategy_briefs.briefs.render import (
    PREVIEW_COLOURS,
    SPECIAL_EDITION_ID,
    MissingGlyphError,
    _documents,
    first_page_png,
    render_documents,
    render_html,
)
from strategy_briefs.briefs.trace import HIGHLIGHT_RULE, OUTLOOK_RULE, read_trace, trace_path
from strategy_briefs.periods import Period
from tests.helpers.demo_facts import PERIOD, demo_facts, demo_history
from tests.helpers.voice_checks import check_article, generated_month

# Every figure and mark of FIGURES.md that the catalogue models, in its published form, each
# found by `states_figure` (so '58%' is not found in '11.58%'). The page's narrative counts
# (3分钟, 1.5万多种, 200余场, 9家分行, 近万名, 近40%, 5000万元, 36家/23家) are no KPI: they are
# in the departments' highlights (data/incoming/*/highlights/), checked in the demo
# editions the real DAG renders (tests/e2e).
PUBLISHED_FIGURES = [
    "3.85亿户",
    "30%",
    "1762万户",
    "7726万户",
    "17.7%",
    "325万户",
    "31.5万亿",
    "25.4%",
    "369.0亿笔",
    "21.8%",
    "超过99%",
    "82.5%",
    "74.09%",
    "10个百分点",
    "74.83%",
    "60.8%",
    "45.58%",
    "6个百分点",
    "6.6亿",
    "超过50%",
    "212万",
    "820亿元",
    "超过4800亿元",
    "1.37%",
    "13个",
    "超过7200万户",
    "超过5100万户",
    "3000余个",
    "53.44吨",
    "16.48吨",
    "35.94吨",
    "29.85亿美元",
    "83万户",
    "58.35%",
    "近20万件",
    "8个",
    "23亿元",
    "4.01亿元",
    "21个百分点",
    "10.5万户",
    "1.8万亿元",
    "16.9万户",
    "2.09万亿",
    "5.2万户",
    "超过30%",
    # private banking's branches (issue 16.6)
    "广东、北京、浙江分行客户站稳万户",
    "江苏、广东、山东、浙江、北京分行客户增量超千户",
    "58%，排名全行前列",
    "79%，排名全行前列",
    "96%，排名全行前列",
    "38.6亿元，排名全行前列",
    # precious metals against a named month
    "较3月末净增1.19亿美元",
]


def states_figure(text: str, figure: str) -> bool:
    """`figure` printed as a figure of its own: '58%' is not in '11.58%', nor '6个百分点' in
    '16个百分点'."""
    return re.search(r"(?<![\d.])" + re.escape(figure), text) is not None


def test_a_figure_is_found_only_where_no_digit_or_point_precedes_it():
    assert states_figure("渗透率58%，", "58%")
    assert not states_figure("渗透率11.58%，", "58%")
    assert not states_figure("提升16个百分点", "6个百分点")


def pdftext(path) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def flat(text: str) -> str:
    """pdftotext -raw reads the columns in order and breaks lines at their ends: join them."""
    return re.sub(r"\s+", "", text)


def pdfinfo(path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    return dict(
        (key.strip(), value.strip())
        for key, value in (line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    )


@pytest.fixture(scope="module")
def demo_month(tmp_path_factory):
    facts = demo_facts()
    out = tmp_path_factory.mktemp("briefs")
    return out, render_documents(facts, demo_history(facts), PERIOD, out)


def test_files_titles_and_hashes(demo_month):
    out, rendered = demo_month
    assert [r.brief_id for r in rendered] == [
        SPECIAL_EDITION_ID,
        "mobile_banking",
        "credit_card",
        "precious_metals",
        "private_banking",
    ]
    assert rendered[0].path == out / "2020-06" / "special-edition-2020-06.pdf"
    assert rendered[1].path == out / "2020-06" / "mobile_banking-2020-06.pdf"
    for brief in rendered:
        assert brief.path.read_bytes()[:8] == b"%PDF-1.7"
        assert len(brief.sha256) == 64 and brief.page_count >= 1
        assert not brief.is_correction


def test_no_weasyprint_warnings(demo_month):
    _, rendered = demo_month
    assert {r.brief_id: r.warnings for r in rendered} == {r.brief_id: () for r in rendered}


def test_special_edition_carries_every_published_figure(demo_month):
    _, rendered = demo_month
    text = flat(pdftext(rendered[0].path))
    missing = [figure for figure in PUBLISHED_FIGURES if not states_figure(text, figure)]
    assert missing == []
    for bad in ("None", "nan", "0.0%"):
        assert bad not in text


def test_special_edition_structure_and_voice(demo_month):
    _, rendered = demo_month
    raw = pdftext(rendered[0].path)
    text = flat(raw)
    assert "专版SpecialEdition" in text
    assert "推进“第一个人金融银行”战略系列专题报道之一：" in text
    assert "编者按：" in text and "本期推出“个金版块”相关业务条线的四篇报道" in text
    assert (
        "截至6月末，手机银行客户数达到3.85亿户，市场占比30%，居四行首位，领先第二名建行1762万户。"
        in text
    )
    assert (
        "手机银行月均动户数达到7726万户，同比增长17.7%，居四行首位，领先第二名建行325万户。" in text
    )
    assert "业务笔数累计达到369.0亿笔，与去年同期增长21.8%" in text
    for credit in (
        "供稿：网络金融部",
        "供稿：银行卡业务部",
        "供稿：贵金属业务部",
        "供稿：私人银行部",
    ):
        assert credit in text
    assert text.index("供稿：网络金融部") < text.index("供稿：私人银行部")
    assert "协力奋进赢得未来" in text
    assert "内部资料" in text
    pages = rendered[0].page_count
    for page in range(1, pages + 1):
        assert re.search(rf"第\s*{page}\s*页\s*/\s*共\s*{pages}\s*页", raw)
    assert raw.count("内部资料") >= pages  # the mark is on every page


def test_pdf_metadata_is_archival_and_dated_from_the_period(demo_month):
    _, rendered = demo_month
    info = pdfinfo(rendered[0].path)
    assert info["Title"] == "推进“第一个人金融银行”战略专版（2020年6月）"
    assert info["Author"] == "个人金融业务部"
    assert "2020年6月" in info["Subject"] and "手机银行" in info["Keywords"]
    assert info["CreationDate"].startswith("Wed Jul  1 01:00:00 2020")
    xmp = subprocess.run(
        ["pdfinfo", "-meta", str(rendered[0].path)], check=True, capture_output=True, text=True
    ).stdout
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp  # PDF/A-3b
    assert "<xmp:CreateDate>2020-07-01T09:00:00+08:00</xmp:CreateDate>" in xmp
    lob_info = pdfinfo(rendered[1].path)
    assert lob_info["Title"] == "手机银行月度简报（2020年6月）"
    assert lob_info["Author"] == "网络金融部"


def test_lob_brief_reads_its_own_line_only(demo_month):
    _, rendered = demo_month
    text = flat(pdftext(rendered[1].path))
    assert "手机银行月度简报" in text and "3.85亿户" in text and "供稿：网络金融部" in text
    assert "供稿：银行卡业务部" not in text
    assert "演示数据" in text  # the charts' synthetic history is labelled


def test_a_comparison_with_a_synthetic_month_is_marked_and_explained(demo_month):
    _, rendered = demo_month
    text = flat(pdftext(rendered[1].path))  # 月活 环比 reads May, which is synthetic
    assert "+1.2%＊" in text
    assert flat(KPI_TABLE_DEMO_NOTE) in text
    assert "本期标＊的数据为演示数据或以演示数据为比较基期；走势图中的历史月份为演示数据" in text


def test_a_brief_without_demonstration_data_says_nothing_about_it(tmp_path):
    facts = [f for f in demo_facts() if f.lob_code == "credit_card"]
    assert not any(f.is_demo_data or f.mom_uses_demo_data or f.yoy_uses_demo_data for f in facts)
    [_, brief] = render_documents(facts, [], PERIOD, tmp_path)
    text = flat(pdftext(brief.path))
    assert "＊" not in text and "演示数据" not in text


def test_the_page_1_preview_is_a_palette_png_a_third_of_full_colour(demo_month):
    """The mail's inline picture of page 1: its palette keeps it small for a phone."""
    out, rendered = demo_month
    for brief in rendered:
        png = first_page_png(brief.path, 800)
        full = subprocess.run(
            ["pdftoppm", "-png", "-f", "1", "-l", "1", "-scale-to-x", "800", "-scale-to-y", "-1"]
            + [str(brief.path)],
            capture_output=True,
            check=True,
        ).stdout
        with Image.open(io.BytesIO(png)) as page:
            assert page.mode == "P" and page.width == 800
            assert len(page.getcolors()) <= PREVIEW_COLOURS
        assert len(png) < len(full) / 2.5, brief.brief_id


def test_same_facts_give_byte_identical_pdfs(demo_month, tmp_path):
    _, rendered = demo_month
    facts = [f for f in demo_facts() if f.lob_code == "mobile_banking"]
    again = render_documents(facts, demo_history(facts), PERIOD, tmp_path)
    first_mobile = next(r for r in rendered if r.brief_id == "mobile_banking")
    second_mobile = next(r for r in again if r.brief_id == "mobile_banking")
    assert second_mobile.path.read_bytes() == first_mobile.path.read_bytes()
    assert second_mobile.sha256 == first_mobile.sha256
    assert second_mobile.trace_path.read_bytes() == first_mobile.trace_path.read_bytes()


def test_charts_drawn_once_are_read_back_from_the_cache(demo_month, tmp_path):
    """A month rendered again reads its charts from the cache: the same PDF as drawing them
    (the demo month's, drawn without a cache), and what the cache holds is what is printed."""
    _, rendered = demo_month
    facts = [f for f in demo_facts() if f.lob_code == "mobile_banking"]
    cache = ChartCache(tmp_path / "charts")
    drawn = render_documents(facts, demo_history(facts), PERIOD, tmp_path / "a", chart_cache=cache)
    stored = sorted(cache.directory.glob("*.json"))
    assert len(stored) == 2  # the line's trend and peer charts
    read = render_documents(facts, demo_history(facts), PERIOD, tmp_path / "b", chart_cache=cache)
    mobile = next(r for r in rendered if r.brief_id == "mobile_banking")
    for again in (drawn[1], read[1]):
        assert again.path.read_bytes() == mobile.path.read_bytes()
    assert sorted(cache.directory.glob("*.json")) == stored  # the same inputs, the same keys
    marked = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="60" viewBox="0 0 240 60">'
        '<text x="10" y="30" font-size="12" font-family="Noto Sans CJK SC">缓存图</text></svg>'
    )
    for path in stored:
        cache.put(path.stem, SvgChart(svg=marked.encode("utf-8"), texts=("缓存图",)))
    [_, brief] = render_documents(
        facts, demo_history(facts), PERIOD, tmp_path / "c", chart_cache=cache
    )
    assert flat(pdftext(brief.path)).count("缓存图") == 2
    history = demo_history(facts)
    history[0] = replace(history[0], value_base=history[0].value_base + 1)
    render_documents(facts, history, PERIOD, tmp_path / "d", chart_cache=cache)
    assert len(list(cache.directory.glob("*.json"))) > 2  # other figures: other charts


# A render in a process of its own (run from the project root, so it imports tests.helpers).
RENDER_WITH_A_CACHE = """
import sys
from pathlib import Path
from tests.helpers.demo_facts import PERIOD, demo_facts, demo_history
from strategy_briefs.briefs.charts import ChartCache
from strategy_briefs.briefs.render import render_documents
out = Path(sys.argv[1])
facts = [f for f in demo_facts() if f.lob_code == "mobile_banking"]
render_documents(facts, demo_history(facts), PERIOD, out, chart_cache=ChartCache(out / "charts"))
print("matplotlib imported:", "matplotlib" in sys.modules)
"""


def test_charts_missing_from_the_cache_are_drawn_outside_the_render_process(demo_month, tmp_path):
    """matplotlib (its import, its memory) stays out of the process that writes the PDFs."""
    _, rendered = demo_month
    done = subprocess.run(
        [sys.executable, "-c", RENDER_WITH_A_CACHE, str(tmp_path)],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().endswith("matplotlib imported: False")
    assert len(list((tmp_path / "charts").glob("*.json"))) == 2
    mobile = next(r for r in rendered if r.brief_id == "mobile_banking")
    assert (tmp_path / str(PERIOD) / mobile.path.name).read_bytes() == mobile.path.read_bytes()


def test_correction_reissue_prints_the_mark(tmp_path):
    facts = [f for f in demo_facts() if f.lob_code == "private_banking"]
    rendered = render_documents(
        facts,
        [],
        PERIOD,
        tmp_path,
        corrections={"special_edition": "更正私银客户数口径说明。"},
        include_lob_briefs=False,
    )
    assert len(rendered) == 1 and rendered[0].is_correction
    text = flat(pdftext(rendered[0].path))
    assert "更正版" in text and "更正说明：更正私银客户数口径说明。" in text
    assert rendered[0].warnings == ()


def test_missing_glyph_fails_naming_the_character(tmp_path):
    facts = [f for f in demo_facts() if f.lob_code == "private_banking"]
    facts[0] = replace(
        facts[0], kpi_name_zh="时点达标私银客户数\U00017000"
    )  # Tangut: not in Noto CJK
    with pytest.raises(MissingGlyphError, match="U\\+17000") as caught:
        render_documents(facts, [], PERIOD, tmp_path)
    assert caught.value.characters == ("\U00017000",)
    assert not list(tmp_path.rglob("*.pdf"))  # nothing half-written


def test_a_failing_brief_leaves_the_months_earlier_render_as_it_was(tmp_path):
    """The month's PDFs are staged and put in place together: a brief that fails after
    another was written (a glyph the font lacks, in the last line's table) changes no file
    of the month rendered before, though the brief written first would differ (a re-issue),
    and leaves no staging folder behind."""
    facts = [f for f in demo_facts() if f.lob_code in ("mobile_banking", "private_banking")]
    render_documents(facts, [], PERIOD, tmp_path)
    month = tmp_path / str(PERIOD)
    before = {path.name: path.read_bytes() for path in month.iterdir()}
    first = next(i for i, f in enumerate(facts) if f.lob_code == "private_banking")
    facts[first] = replace(facts[first], kpi_name_zh="时点达标私银客户数\U00017000")  # Tangut
    with pytest.raises(MissingGlyphError, match="private_banking"):
        render_documents(
            facts, [], PERIOD, tmp_path, corrections={"mobile_banking": "更正手机银行口径。"}
        )
    assert {path.name: path.read_bytes() for path in month.iterdir()} == before
    assert [path.name for path in tmp_path.iterdir()] == [str(PERIOD)]


def test_a_lines_brief_comes_before_the_next_lines_charts_are_asked_for(tmp_path):
    """Each line's brief is written as soon as its own charts are stored (the drawing
    process draws them in the articles' order), not once the month's charts are all drawn."""
    facts = [f for f in demo_facts() if f.lob_code in ("mobile_banking", "private_banking")]
    awaited: list[Path] = []
    cache = ChartCache(tmp_path / "charts", awaits=awaited.append)
    arguments = (facts, demo_history(facts), PERIOD, load_edition_config(), None, ())
    documents = _documents(arguments, {}, cache, True)
    assert next(documents).brief_id == "mobile_banking"
    assert len(awaited) == 2  # its trend and peer charts, none of the next line's
    assert [document.brief_id for document in documents] == ["private_banking", SPECIAL_EDITION_ID]
    assert len(awaited) == len(list(cache.directory.glob("*.json"))) > 2


def test_highlights_print_as_sections_and_a_wrong_figure_warns(tmp_path):
    """The department's items follow the figures as 一是……二是……, opener in bold, markup as
    text; a highlight whose figure disagrees with the submission is a render warning."""
    facts = [f for f in demo_facts() if f.lob_code == "mobile_banking"]
    month = facts[0].period
    items = [
        BriefHighlight(
            month, "mobile_banking", 2, None, "<b>不是标记</b>手机银行客户数达到3.5亿户。"
        ),
        BriefHighlight(month, "mobile_banking", 1, "渠道迁移加快。", "线上服务覆盖县域。"),
    ]
    rendered = render_documents(facts, demo_history(facts), PERIOD, tmp_path, highlights=items)
    text = flat(pdftext(rendered[0].path))
    assert (
        "一是渠道迁移加快。线上服务覆盖县域。二是<b>不是标记</b>手机银行客户数达到3.5亿户。" in text
    )
    edition, _ = build_contexts(
        facts, demo_history(facts), PERIOD, load_edition_config(), highlights=items
    )
    html = render_html(edition)
    assert '<strong class="opener">渠道迁移加快。</strong>' in html  # set bold (style.css)
    assert "&lt;b&gt;不是标记&lt;/b&gt;" in html  # markup is text
    expected = (
        "highlights of mobile_banking, item 2: '手机银行客户数达到3.5亿户' disagrees with the "
        "submitted mb_customers (手机银行客户数) of 3.85亿户"
    )
    assert {r.brief_id: r.warnings for r in rendered} == {
        SPECIAL_EDITION_ID: (expected,),
        "mobile_banking": (expected,),
    }


def test_each_brief_hands_on_the_lead_sentence_of_its_articles(demo_month):
    out, rendered = demo_month
    by_id = {r.brief_id: r for r in rendered}
    special = by_id[SPECIAL_EDITION_ID]
    assert [h.lob_name_zh for h in special.headline_lines] == [
        "手机银行",
        "信用卡",
        "贵金属",
        "私人银行",
    ]
    mobile = special.headline_lines[0].sentence
    assert (
        mobile
        == "截至6月末，手机银行客户数达到3.85亿户，市场占比30%，居四行首位，领先第二名建行1762万户。"
    )
    # the same words the PDF prints, first sentence only (the lead goes on about 月均动户数)
    assert mobile in flat(pdftext(special.path)) and "月均动户数" not in mobile
    assert by_id["mobile_banking"].headline_lines == special.headline_lines[:1]
    assert by_id["mobile_banking"].demo_notice.startswith("本期标＊的数据为演示数据")


def test_a_demonstration_figure_keeps_its_mark_in_the_lead_sentence(tmp_path):
    facts = [
        replace(f, is_demo_data=True) if f.kpi_code == "mb_customers" else f
        for f in demo_facts()
        if f.lob_code == "mobile_banking"
    ]
    [special] = render_documents(facts, [], PERIOD, tmp_path, include_lob_briefs=False)
    [line] = special.headline_lines
    assert "3.85亿户＊" in line.sentence
    assert special.demo_notice.startswith("本期标＊的数据为演示数据")


def _check_claims_file(brief, facts):
    """The claims file beside the PDF: every generated sentence is printed in the PDF, rests
    on facts and rules, and every number and judgement phrase in it maps to them."""
    assert brief.trace_path == trace_path(brief.path) and brief.trace_path.exists()
    document = read_trace(brief.trace_path)
    assert (document.brief_id, str(document.period)) == (brief.brief_id, f"{facts[0].period:%Y-%m}")
    printed = flat(pdftext(brief.path))
    generated = [
        s for s in document.sentences if s.rules not in ((HIGHLIGHT_RULE,), (OUTLOOK_RULE,))
    ]
    assert generated
    config = load_edition_config()
    for lob in {s.lob_code for s in generated}:
        sentences = [
            narrative.Sentence(s.text, tuple(narrative.Clause(c.text, c.rule, c.brief_fact_keys)
                                             for c in s.clauses))
            for s in generated
            if s.lob_code == lob
        ]  # fmt: skip
        for sentence in sentences:
            assert flat(sentence.text) in printed, sentence.text
        paragraph = narrative.TracedParagraph(tuple(sentences))
        check_article(
            [paragraph], [f for f in facts if f.lob_code == lob], config.article_rules(lob)
        )
    return document


def test_every_rendered_document_has_its_claims_file(demo_month):
    _, rendered = demo_month
    for brief in rendered:
        document = _check_claims_file(brief, demo_facts())
        lobs = {s.lob_code for s in document.sentences}
        assert lobs == ({brief.brief_id} if brief.brief_id != SPECIAL_EDITION_ID else lobs)
    special = read_trace(rendered[0].trace_path)
    summary = [s for s in special.sentences if "rank_summary" in s.rules]
    assert [s.text for s in summary] == ["手机银行客户数、月均动户数两项指标均稳居四行首位。"]
    assert set(summary[0].brief_fact_keys) == {
        "2020-06|mobile_banking|mb_customers",
        "2020-06|mobile_banking|mb_monthly_active",
    }


def test_a_generated_month_traces_every_sentence_to_facts_and_rules(tmp_path):
    facts = generated_month(seed=7)  # 2021-09, not in the sample
    [special] = render_documents(facts, [], Period(2021, 9), tmp_path, include_lob_briefs=False)
    document = _check_claims_file(special, facts)
    rules = {r for s in document.sentences for r in s.rules}
    assert {"level", "change", "period"} <= rules
