"""Highlights: every refusal reason as FILE:ROW:COLUMN, and load / reject / replace in the
real warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from strategy_briefs.ingest import SubmissionInvalid, load_month
from strategy_briefs.ingest.highlights import (
    MAX_OPENER,
    MAX_TEXT,
    MAX_TOTAL,
    check_highlights,
    check_month_highlights,
    highlights_path,
    load_highlights,
    publish_highlights,
)
from tests.helpers.month_rows import month_rows

HEADER = "period,lob_code,item_no,opener,text\n"


def write(folder: Path, period: str, text: str, lob: str = "mobile_banking") -> Path:
    path = folder / period / "highlights" / f"{lob}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, catalogue, period: str) -> list[str]:
    check = check_highlights(path, catalogue, period=period, lob_code="mobile_banking")
    return [str(p) for p in check.problems]


def test_a_good_file_keeps_markup_as_text(tmp_path, catalogue):
    path = write(
        tmp_path,
        "2031-01",
        HEADER + "2031-01,mobile_banking,2,,<b>加粗</b> {{ 1 + 1 }}\n"
        "2031-01,mobile_banking,1,渠道迁移加快。,线上占比继续提升\n",
    )
    check = check_highlights(path, catalogue, period="2031-01", lob_code="mobile_banking")
    assert check.problems == ()
    assert [(i.item_no, i.opener, i.text) for i in check.items] == [
        (1, "渠道迁移加快。", "线上占比继续提升"),
        (2, None, "<b>加粗</b> {{ 1 + 1 }}"),
    ]
    assert highlights_path(tmp_path, "2031-01", "mobile_banking") == path
    assert highlights_path(tmp_path, "2031-01", "credit_card") is None


def test_every_refusal_names_file_row_and_column(tmp_path, catalogue):
    # Rows count records as a spreadsheet shows them: the quoted two-line cell is row 5.
    path = write(
        tmp_path,
        "2031-01",
        HEADER
        + "2031-01,mobile_banking,1,,\n"  # empty text
        + f"2031-01,mobile_banking,2,{'长' * (MAX_OPENER + 1)},正文\n"
        + f"2031-01,mobile_banking,3,,{'字' * (MAX_TEXT + 1)}\n"
        + '2031-01,mobile_banking,4,,"两行\n正文"\n'
        + "2031-01,mobile_banking,5,,响铃\x07\n"
        + "2031-01,mobile_banking,7,,序号越界\n"
        + "2031-01,mobile_banking,5,,重复序号\n"
        + "2031-02,credit_card,6,,别的月份\n",
    )
    assert problems(path, catalogue, "2031-01") == [
        f"{path}:2:text: text is empty: every item needs its text",
        f"{path}:3:opener: opener is {MAX_OPENER + 1} characters long; at most {MAX_OPENER}"
        " are allowed",
        f"{path}:4:text: text is {MAX_TEXT + 1} characters long; at most {MAX_TEXT} are allowed",
        f"{path}:5:text: text holds a line break: keep each item on one line of plain text",
        f"{path}:6:text: text holds control character U+0007: keep each item on one line of"
        " plain text",
        f"{path}:7:item_no: item_no '7' is not a whole number from 1 to 6",
        f"{path}:8:item_no: item_no 5 is already on row 6",
        f"{path}:9:period: period 2031-02 is not 2031-01",
        f"{path}:9:lob_code: line of business credit_card is not mobile_banking",
    ]


def test_missing_columns_and_an_empty_file_are_refused(tmp_path, catalogue):
    path = write(tmp_path, "2031-01", "period,lob_code,opener\n2031-01,mobile_banking,x\n")
    assert problems(path, catalogue, "2031-01") == [f"{path}:1:-: missing column(s): item_no, text"]
    empty = write(tmp_path, "2031-02", HEADER)
    assert problems(empty, catalogue, "2031-02") == [
        f"{empty}:-:-: the file holds no items: leave it out when there is nothing to say"
    ]


def highlights(db, period: str) -> list[tuple]:
    columns = "lob_code, item_no, opener, body"
    return month_rows(db, "raw.lob_highlights", columns, period, order_by="lob_code, item_no")


def audit(db, period: str) -> list[tuple]:
    columns = "lob_code, status, submission, row_count, problem_count"
    return month_rows(db, "raw.load_audit", columns, period)


@pytest.mark.usefixtures("test_months")
def test_load_reject_and_replace(warehouse_params, db, catalogue, tmp_path):
    def load(path: Path) -> int:
        return load_highlights(
            warehouse_params,
            path,
            period="2031-03",
            lob_code="mobile_banking",
            catalogue=catalogue,
        )

    first = write(
        tmp_path / "a",
        "2031-03",
        HEADER + "2031-03,mobile_banking,1,首句。,正文一\n2031-03,mobile_banking,2,,正文二\n",
    )
    load(first)
    assert highlights(db, "2031-03") == [
        ("mobile_banking", 1, "首句。", "正文一"),
        ("mobile_banking", 2, None, "正文二"),
    ]
    bad = write(tmp_path / "b", "2031-03", HEADER + "2031-03,mobile_banking,1,,\n")
    with pytest.raises(SubmissionInvalid) as raised:
        load(bad)
    assert [str(p) for p in raised.value.problems] == [
        f"{bad}:2:text: text is empty: every item needs its text"
    ]
    assert highlights(db, "2031-03")[0] == ("mobile_banking", 1, "首句。", "正文一")
    again = write(tmp_path / "c", "2031-03", HEADER + "2031-03,mobile_banking,1,,只有一条\n")
    load(again)
    assert highlights(db, "2031-03") == [("mobile_banking", 1, None, "只有一条")]
    assert audit(db, "2031-03") == [
        ("mobile_banking", "loaded", "highlights", 2, 0),
        ("mobile_banking", "rejected", "highlights", 0, 1),
        ("mobile_banking", "loaded", "highlights", 1, 0),
    ]


def test_a_stray_file_in_the_highlights_folder_is_reported(tmp_path, catalogue):
    write(tmp_path, "2031-04", HEADER + "2031-04,mobile_banking,1,,正文\n")
    stray = write(tmp_path, "2031-04", HEADER + "2031-04,wealth,1,,正文\n", lob="wealth")
    checks = check_month_highlights(tmp_path, "2031-04", catalogue)
    assert [(c.lob_code, len(c.items), len(c.problems)) for c in checks] == [
        ("mobile_banking", 1, 0),
        ("wealth", 0, 1),
    ]
    assert str(checks[1].problems[0]).startswith(
        f"{stray}:-:-: file name 'wealth.csv' is not a line of business: expected one of "
    )


@pytest.mark.usefixtures("test_months")
def test_bad_highlights_hold_the_whole_month(
    warehouse_params, db, catalogue, tmp_path, copy_sample_month
):
    """A bad highlights file is a problem of the month: no figures and no highlights load,
    the file gets its 'rejected' audit row, and the month's earlier rows stay."""
    folder = copy_sample_month("2020-06", tmp_path, "2031-05")
    load_month(warehouse_params, tmp_path, "2031-05", catalogue)
    before = db.execute(
        "select count(*) from raw.lob_figures where period = '2031-05-01'"
        " and value_submitted = '3.85'"
    ).fetchone()
    bad = write(tmp_path, "2031-05", HEADER + "2031-05,mobile_banking,1,,\n")
    # The figures are good and changed: without the highlights' veto they would load.
    figures = folder / "mobile_banking.csv"
    figures.write_text(figures.read_text(encoding="utf-8").replace(",3.85,", ",3.86,"), "utf-8")
    with pytest.raises(SubmissionInvalid) as raised:
        load_month(warehouse_params, tmp_path, "2031-05", catalogue)
    assert f"{bad}:2:text: text is empty: every item needs its text" in [
        str(p) for p in raised.value.problems
    ]
    assert (
        db.execute(
            "select count(*) from raw.lob_figures where period = '2031-05-01'"
            " and value_submitted = '3.85'"
        ).fetchone()
        == before
        == (1,)
    )
    assert highlights(db, "2031-05") == []
    assert ("mobile_banking", "rejected", "highlights", 0, 1) in audit(db, "2031-05")


@pytest.mark.usefixtures("test_months")
def test_highlights_follow_their_figures_and_leave_with_their_file(
    warehouse_params, db, catalogue, tmp_path, copy_sample_month
):
    copy_sample_month("2020-06", tmp_path, "2031-06")
    path = write(
        tmp_path,
        "2031-06",
        HEADER + "2031-06,mobile_banking,1,首句。,正文一\n",
        lob="mobile_banking",
    )
    load_month(warehouse_params, tmp_path, "2031-06", catalogue)
    assert highlights(db, "2031-06") == [("mobile_banking", 1, "首句。", "正文一")]
    path.unlink()  # the department withdraws its highlights; the month is run again
    load_month(warehouse_params, tmp_path, "2031-06", catalogue)
    assert highlights(db, "2031-06") == []
    assert (
        publish_highlights(warehouse_params, tmp_path, "2031-06", "mobile_banking", catalogue) == 0
    )


def test_all_items_together_fit_the_article(tmp_path, catalogue):
    rows = "".join(f"2031-07,mobile_banking,{n},,{'字' * 100}\n" for n in range(1, 5))
    path = write(tmp_path, "2031-07", HEADER + rows)
    assert problems(path, catalogue, "2031-07") == [
        f"{path}:-:-: the items hold 400 characters together; at most {MAX_TOTAL} fit the article"
    ]
