"""Reading: value cells, encodings, .xlsx workbooks (made here with openpyxl)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest import check_file, validate_file
from strategy_briefs.ingest.reading import ValueFormatError, detect_encoding, parse_value

ENCODINGS = PROJECT_ROOT / "tests" / "fixtures" / "encodings"


@pytest.mark.parametrize(
    ("text", "number", "qualifier", "percent"),
    [
        ("369.0", "369.0", None, False),
        ("超过4800", "4800", "超过", False),
        ("超4,800", "4800", "超过", False),
        ("3000余", "3000", "余", False),
        ("1.5万多", None, None, False),  # a unit word inside the value is not a number
        ("近20", "20", "近", False),
        ("接近20", "20", "近", False),
        ("将近 20", "20", "近", False),
        ("12,345,678.9", "12345678.9", None, False),
        ("+3", "3", None, False),
        ("-3", "-3", None, False),
        ("82.5%", "82.5", None, True),
        ("超过99%", "99", "超过", True),
        ("８２．５％", "82.5", None, True),  # full-width digits from a Chinese IME
    ],
)
def test_parse_value(text, number, qualifier, percent):
    if number is None:
        with pytest.raises(ValueFormatError):
            parse_value(text)
        return
    parsed = parse_value(text)
    assert (parsed.number, parsed.qualifier, parsed.percent) == (number, qualifier, percent)


@pytest.mark.parametrize("text", ["NaN", "inf", "1e5", "1,23", "3.", ".5", "", "约20", "1.2.3"])
def test_parse_value_rejects(text):
    with pytest.raises(ValueFormatError):
        parse_value(text)


def test_encodings_are_detected():
    assert detect_encoding(ENCODINGS / "gbk" / "2020-06" / "mobile_banking.csv") == "gb18030"
    assert detect_encoding(ENCODINGS / "utf8_bom" / "2020-06" / "mobile_banking.csv") == (
        "utf-8-sig"
    )
    assert detect_encoding(ENCODINGS / "utf8" / "2020-06" / "mobile_banking.csv") == "utf-8"


def test_gbk_file_with_utf8_lines_appended_is_refused_naming_the_first(tmp_path, catalogue):
    """The probe: UTF-8 rows appended to an Excel 'CSV' (GBK) file stored 广东 as 骞夸笢."""
    gbk = ENCODINGS / "gbk" / "2020-06" / "mobile_banking.csv"
    lines = gbk.read_bytes().count(b"\n")
    appended = "2020-06,mobile_banking,mb_online_share_wealth,branch:广东,99,%,\n"
    assert appended.encode("utf-8").decode("gb18030").count("骞夸笢") == 1  # the mojibake
    path = tmp_path / "2020-06" / "mobile_banking.csv"
    path.parent.mkdir()
    path.write_bytes(gbk.read_bytes() + appended.encode("utf-8") * 2)
    assert [str(p) for p in validate_file(path, catalogue)] == [
        f"{path}:{lines + 1}:-: line {lines + 1} is UTF-8 Chinese text but the lines before "
        "it are GBK/GB18030: the file mixes encodings; save it again as 'CSV UTF-8'"
    ]
    # the same line in GBK is one consistent file
    path.write_bytes(gbk.read_bytes() + appended.encode("gbk"))
    assert detect_encoding(path) == "gb18030"


def test_utf8_file_with_gbk_lines_stays_refused(tmp_path, catalogue):
    utf8 = ENCODINGS / "utf8" / "2020-06" / "mobile_banking.csv"
    lines = utf8.read_bytes().count(b"\n")
    path = tmp_path / "2020-06" / "mobile_banking.csv"
    path.parent.mkdir()
    appended = "2020-06,mobile_banking,mb_monthly_active,branch:浙江,近520,万户,演示数据\n"
    path.write_bytes(utf8.read_bytes() + appended.encode("gbk"))
    assert [str(p) for p in validate_file(path, catalogue)] == [
        f"{path}:{lines + 1}:-: cannot decode line {lines + 1} as UTF-8 although the lines "
        "before it are UTF-8: the file is damaged or mixes encodings; save it again as "
        "'CSV UTF-8'"
    ]


def test_gbk_and_utf8_bom_twins_read_identical_rows(catalogue):
    twins = [
        check_file(ENCODINGS / name / "2020-06" / "mobile_banking.csv", catalogue)
        for name in ("gbk", "utf8_bom", "utf8")
    ]
    for _rows, problems in twins:
        assert problems == []
    assert twins[0][0] == twins[1][0] == twins[2][0]
    rows = {(r.kpi_code, r.entity_type, r.entity_code): r for r in twins[0][0]}
    assert rows["mb_customers", "bank", "ccb"].value_base == Decimal("367380000")
    assert rows["mb_monthly_active", "bank", "icbc"].value_submitted == "7726"  # was "7,726"
    assert rows["mb_txn_count_ytd", "bank", "icbc"].value_submitted == "369.0"
    wealth = rows["mb_online_share_wealth", "bank", "icbc"]
    assert (wealth.value_base, wealth.qualifier) == (Decimal("0.99"), "超过")
    credit = rows["mb_pen_credit_card", "bank", "icbc"]
    assert (credit.value_base, credit.unit_submitted) == (Decimal("0.825"), "%")
    branch = rows["mb_monthly_active", "branch", "广东"]
    assert (branch.value_base, branch.qualifier, branch.is_demo_data) == (5200000, "近", True)
    zhejiang = rows["mb_pen_new", "branch", "浙江"]  # "branch:浙江分行" names the branch 浙江
    assert zhejiang.note == "=cmd|' /C calc'!A0"  # stored as text, never evaluated


def _workbook(path: Path, rows: list[list], *, sheet: str = "mobile_banking", first=None):
    workbook = openpyxl.Workbook()
    if first is not None:
        workbook.active.title = "说明"
        workbook.active.append(first)
        worksheet = workbook.create_sheet(sheet)
    else:
        worksheet = workbook.active
        worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return worksheet


HEADER_ZH = ["期间", "业务条线", "指标代码", "主体", "数值", "单位", "备注"]
# mobile banking's required figures of June 2020, as a department's sheet types them
REQUIRED_ROWS = [
    ["2020-06", "mobile_banking", "mb_customers", "icbc", "3.85", "亿户"],
    ["2020-06", "mobile_banking", "mb_monthly_active", "icbc", 7726, "万户"],
    ["2020-06", "mobile_banking", "mb_txn_amount_ytd", "icbc", 31.5, "万亿元"],
    ["2020-06", "mobile_banking", "mb_txn_count_ytd", "icbc", "369.0", "亿笔"],
]


def test_xlsx_numbers_as_text_and_text_that_looks_like_formulas(tmp_path, catalogue):
    path = tmp_path / "2020-06" / "mobile_banking.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "说明"
    workbook.active.append(["这一页不是数据"])
    sheet = workbook.create_sheet("mobile_banking")
    sheet.append(HEADER_ZH)
    sheet.append([dt.datetime(2020, 6, 1), "手机银行", "mb_customers", "工行", "3.85", "亿户"])
    sheet.append(["2020-06", "mobile_banking", "mb_monthly_active", "icbc", "7,726", "万户"])
    sheet.append(["2020-06", "mobile_banking", "mb_txn_amount_ytd", "icbc", 31.5, "万亿元"])
    sheet.append(["2020-06", "mobile_banking", "mb_txn_count_ytd", "icbc", 369, "亿笔"])
    sheet.append(["2020-06", "mobile_banking", "mb_pen_credit_card", "icbc", 0.825, None])
    sheet.append(["2020-06", "mobile_banking", "mb_online_share_wealth", "icbc", "超过99", "%"])
    notes = ["=1+1", "+86 10 6610", "-3 below", "@SUM(A1)"]
    for number, note in enumerate(notes):
        sheet.append(["2020-06", "mobile_banking", "mb_customers", f"branch:{number}", 1, "万户"])
        sheet.cell(row=sheet.max_row, column=7).value = note
        sheet.cell(row=sheet.max_row, column=7).data_type = "s"  # typed as text in Excel
    sheet["E5"].number_format = "0.0"  # Excel shows 369.0
    sheet["E6"].number_format = "0.0%"  # Excel shows 82.5%
    path.parent.mkdir(parents=True)
    workbook.save(path)

    rows, problems = check_file(path, catalogue)
    assert problems == []
    by_kpi = {(r.kpi_code, r.entity_code): r for r in rows}
    assert by_kpi["mb_customers", "icbc"].value_base == Decimal("385000000")
    assert by_kpi["mb_monthly_active", "icbc"].value_submitted == "7726"
    assert by_kpi["mb_txn_count_ytd", "icbc"].value_submitted == "369.0"
    credit = by_kpi["mb_pen_credit_card", "icbc"]
    assert (credit.value_submitted, credit.unit_submitted, credit.value_base) == (
        "82.5",
        "%",
        Decimal("0.825"),
    )
    assert [by_kpi["mb_customers", str(n)].note for n in range(4)] == notes
    assert {r.source_row for r in rows} == set(range(2, 12))


def test_xlsx_formula_cells_are_rejected(tmp_path, catalogue):
    path = tmp_path / "2020-06" / "mobile_banking.xlsx"
    customers, active, amount, count = (list(row) for row in REQUIRED_ROWS)
    customers[4] = "=3.85*1"
    count.append("=A1")
    _workbook(path, [HEADER_ZH, customers, active, amount, count])
    assert [str(p).removeprefix(f"{path}:") for p in validate_file(path, catalogue)] == [
        "2:数值: cell holds a formula (=3.85*1): type the value itself",
        "5:备注: cell holds a formula (=A1): type the value itself",
    ]


def test_damaged_xlsx(tmp_path, catalogue):
    path = tmp_path / "2020-06" / "mobile_banking.xlsx"
    _workbook(path, [HEADER_ZH])
    path.write_bytes(path.read_bytes()[:200])
    assert [str(p).removeprefix(f"{path}:") for p in validate_file(path, catalogue)] == [
        "-:-: not a readable .xlsx workbook (truncated or damaged: BadZipFile)"
    ]


def _padded_workbook(path: Path, stray_cell: str) -> None:
    """The probe's workbook: a valid sheet plus one stray cell far outside the table."""
    _workbook(path, [HEADER_ZH, *REQUIRED_ROWS])
    workbook = openpyxl.load_workbook(path)
    workbook.active[stray_cell] = "x"
    workbook.save(path)


# A sheet past the reading's bounds, a few KB each: the one declaring XFD1048576 used to stall
# ingest for an hour, IV1048576 took 229 s to walk (the probe's padded sheets).
TOO_WIDE = (
    "-:-: the sheet declares 16384 columns and 1048576 rows (up to XFD1048576), more "
    "than the 256 a submission may have: delete the cells outside the table (Ctrl+End "
    "shows the last one) and save again"
)
TOO_LONG = (
    "-:-: the sheet declares rows down to 1,048,576 but rows 6-1,005 are empty, so "
    "nothing below them was read: delete the cells outside the table (Ctrl+End shows "
    "the last one) and save again"
)


@pytest.mark.parametrize(
    ("stray_cell", "refusal"),
    [("XFD1048576", TOO_WIDE), ("A1048576", TOO_LONG), ("IV1048576", TOO_LONG)],
)
def test_xlsx_past_the_reading_bounds_is_refused_not_dropped(
    tmp_path, catalogue, stray_cell, refusal
):
    """More than 256 columns is refused before reading; within them, reading stops 1,000
    empty rows after the table and the sheet declaring rows further down is refused, so the
    cell down there is not silently dropped."""
    path = tmp_path / "2020-06" / "mobile_banking.xlsx"
    _padded_workbook(path, stray_cell)
    assert path.stat().st_size < 10_000
    assert [str(p).removeprefix(f"{path}:") for p in validate_file(path, catalogue)] == [refusal]


def test_xlsx_stray_cell_below_the_table_is_reported_not_dropped(tmp_path, catalogue):
    """A stray cell within the run of empty rows reading allows is reported on its row."""
    path = tmp_path / "2020-06" / "mobile_banking.xlsx"
    _padded_workbook(path, "A900")
    rows, problems = check_file(path, catalogue)
    assert [r.source_row for r in rows] == [2, 3, 4, 5]
    assert [p.row for p in problems] and {p.row for p in problems} == {900}


def test_xlsx_declaring_more_rows_than_excel_holds_is_refused_before_reading(tmp_path, catalogue):
    """A crafted <dimension>: no spreadsheet writes more than 1,048,576 rows."""
    import re
    import zipfile

    path = tmp_path / "2020-06" / "mobile_banking.xlsx"
    _padded_workbook(path, "F6")
    crafted = tmp_path / "crafted.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(crafted, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(
                    rb'<dimension ref="[^"]*"', b'<dimension ref="A1:F99999999"', data
                )
                assert count == 1
            target.writestr(item, data)
    crafted.replace(path)
    assert [str(p).removeprefix(f"{path}:") for p in validate_file(path, catalogue)] == [
        "-:-: the sheet declares 99,999,999 rows, more than the 1,048,576 a spreadsheet can "
        "hold: the file is damaged or not a submission"
    ]
