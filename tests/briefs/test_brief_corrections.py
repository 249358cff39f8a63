"""A re-issue on real PDFs: 更正版 and the 更正说明 on the named briefs only, the pages
otherwise as they were (read back page by page with pdftotext), and the provenance each
rendered brief carries into the archive manifest."""

from __future__ import annotations

import shutil
from dataclasses import replace
from decimal import Decimal

import pytest

from strategy_briefs.briefs.context import MAX_REISSUE_REASON_CHARS, SPECIAL_EDITION_ID
from strategy_briefs.briefs.provenance import data_snapshot, template_version
from strategy_briefs.briefs.render import render_documents
from strategy_briefs.config import Settings
from tests.helpers.demo_facts import PERIOD, demo_facts, demo_highlights, demo_history
from tests.helpers.pdf_pages import correction_marks, page_texts, unmarked_differences

# As long as the box allows, so the test also proves the longest reason moves nothing.
LONGEST_REASON = ("私人银行客户数口径有误，已按总行统一口径更正，其他内容不变。" * 5)[
    :MAX_REISSUE_REASON_CHARS
]
REISSUED = (SPECIAL_EDITION_ID, "precious_metals")

SETTINGS = Settings.from_env()


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """The demo month as first sent, and re-issued for two of its briefs."""
    facts, highlights = demo_facts(), demo_highlights()
    history = demo_history(facts)
    out = tmp_path_factory.mktemp("editions")
    first = render_documents(facts, history, PERIOD, out / "e1", highlights=highlights)
    second = render_documents(
        facts,
        history,
        PERIOD,
        out / "e2",
        highlights=highlights,
        corrections=dict.fromkeys(REISSUED, LONGEST_REASON),
    )
    return {b.brief_id: b for b in first}, {b.brief_id: b for b in second}


@pytest.mark.parametrize("brief_id", REISSUED)
def test_a_reissued_brief_differs_only_in_the_marked_places(editions, brief_id):
    first, second = editions[0][brief_id], editions[1][brief_id]
    assert second.is_correction and second.correction_note == LONGEST_REASON
    assert second.page_count == first.page_count  # the note reflowed nothing
    before, after = page_texts(first.path), page_texts(second.path)
    assert before != after
    assert unmarked_differences(before, after, correction_marks(len(after), LONGEST_REASON)) == []
    assert f"第1页/共{first.page_count}页" in after[0]


def test_the_briefs_not_named_are_printed_as_they_were(editions):
    first, second = editions
    for brief_id in set(first) - set(REISSUED):
        assert not second[brief_id].is_correction
        assert second[brief_id].path.read_bytes() == first[brief_id].path.read_bytes(), brief_id


def test_a_reason_longer_than_the_box_is_one_clear_error(tmp_path):
    facts = [f for f in demo_facts() if f.lob_code == "private_banking"]
    too_long = "更" * (MAX_REISSUE_REASON_CHARS + 1)
    with pytest.raises(ValueError, match=f"has {MAX_REISSUE_REASON_CHARS + 1} characters"):
        render_documents(facts, [], PERIOD, tmp_path, corrections={"private_banking": too_long})
    with pytest.raises(ValueError, match="needs a reason"):
        render_documents(facts, [], PERIOD, tmp_path, corrections={"private_banking": "  "})
    assert not (tmp_path / str(PERIOD)).exists()


def test_each_brief_carries_the_provenance_of_what_it_read(editions):
    first, second = editions
    facts, highlights = demo_facts(), demo_highlights()
    history = demo_history(facts)
    version = template_version(SETTINGS.templates_dir, SETTINGS.briefs_config_file)
    for brief_id, brief in first.items():
        lob = None if brief_id == SPECIAL_EDITION_ID else brief_id
        assert brief.data_snapshot_sha256 == data_snapshot(facts, highlights, history, lob)
        assert brief.template_version == version
        assert second[brief_id].data_snapshot_sha256 == brief.data_snapshot_sha256
    assert len({b.data_snapshot_sha256 for b in first.values()}) == len(first)


def test_the_data_snapshot_follows_the_rows_a_brief_reads():
    facts, highlights = demo_facts(), demo_highlights()
    history = demo_history(facts)
    changed = [
        replace(f, value_base=Decimal(f.value_base) + 1)
        if f.lob_code == "credit_card" and f.value_base is not None
        else f
        for f in facts
    ]
    assert changed != facts

    def snapshot(rows, lob=None):
        return data_snapshot(rows, highlights, history, lob)

    assert snapshot(list(reversed(facts))) == snapshot(facts)  # a stable order
    assert snapshot(changed) != snapshot(facts)
    assert snapshot(changed, "credit_card") != snapshot(facts, "credit_card")
    assert snapshot(changed, "mobile_banking") == snapshot(facts, "mobile_banking")
    fewer_highlights = data_snapshot(facts, highlights[1:], history, highlights[0].lob_code)
    assert fewer_highlights != snapshot(facts, highlights[0].lob_code)


def test_the_template_version_follows_the_templates_and_the_wording(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(SETTINGS.templates_dir, templates)
    config = tmp_path / "briefs.yaml"
    shutil.copyfile(SETTINGS.briefs_config_file, config)
    original = template_version(templates, config)
    assert original == template_version(SETTINGS.templates_dir, SETTINGS.briefs_config_file)

    css = templates / "css" / "style.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n/* wider */\n", encoding="utf-8")
    assert template_version(templates, config) != original
    shutil.copyfile(SETTINGS.templates_dir / "css" / "style.css", css)
    config.write_text(
        config.read_text(encoding="utf-8").replace("协力奋进", "同心奋进"), encoding="utf-8"
    )
    assert template_version(templates, config) != original
