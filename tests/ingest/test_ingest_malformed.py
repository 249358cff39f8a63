"""The malformed corpus: one file per rule, each with its exact messages.

Files are tests/fixtures/malformed/<case>/2020-06/mobile_banking.csv (made by
tests/fixtures/generate.py); the place says period 2020-06 and line of business
mobile_banking. Messages are `ROW:COLUMN: message` after the file name.
"""

from __future__ import annotations

import pytest

from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest import validate_file, validate_paths

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"

UNIT_LIST = (
    "户, 万户, 亿户, 笔, 万笔, 亿笔, 件, 万件, 个, 元, 万元, 亿元, 万亿元, 美元, 亿美元, 吨, %, 位"
)
EXPECTED: dict[str, list[str]] = {
    "unknown_kpi": ["6:kpi_code: unknown kpi_code 'mb_custmers' (did you mean mb_customers?)"],
    "unknown_kpi_no_hint": ["6:kpi_code: unknown kpi_code 'foo'"],
    "empty_kpi": ["6:kpi_code: kpi_code is empty"],
    "kpi_of_other_lob": [
        "6:kpi_code: kpi_code cc_epay_merchants belongs to credit_card, not mobile_banking"
    ],
    "unknown_unit": [f"6:unit: unknown unit '千户': expected one of {UNIT_LIST}"],
    "unit_wrong_kind": [
        "6:unit: unit 亿元 does not fit mb_customers, a count in 户: use 户, 万户 or 亿户"
    ],
    "unit_wrong_base": [
        "6:unit: unit 亿笔 does not fit mb_customers, a count in 户: use 户, 万户 or 亿户"
    ],
    "empty_unit": ["6:unit: unit is empty"],
    "value_not_number": ["6:value: value 'abc' is not a number"],
    "value_with_unit_inside": ["6:value: value '3.67亿' is not a number"],
    "value_two_qualifiers": ["6:value: value '超过3余' has two qualifiers"],
    "empty_value": ["6:value: value is empty"],
    "negative_count": ["6:value: value -3.6 is negative: mb_customers is a count in 户"],
    "negative_amount": ["6:value: value -1 is negative: mb_txn_amount_ytd is an amount in 元"],
    "ratio_over_100": ["6:value: value 120% is outside 0–100%"],
    "ratio_negative": ["6:value: value -5% is outside 0–100%"],
    "percent_sign_wrong_unit": ["6:value: value '82.5%' has a % sign but the unit is 万户"],
    "rank_out_of_range": ["6:value: rank 5 is not a whole number from 1 to 4"],
    "rank_not_whole": ["6:value: rank 1.5 is not a whole number from 1 to 4"],
    "period_other_month": ["6:period: period 2020-05 does not match the folder 2020-06"],
    "period_not_a_month": ["6:period: period '2020-13' is not a month: write YYYY-MM"],
    "empty_period": ["6:period: period is empty"],
    "lob_other_file": [
        "6:lob: line of business credit_card does not match the file name mobile_banking.csv"
    ],
    "unknown_lob": [
        "6:lob: unknown line of business 'wealth': expected credit_card, mobile_banking, "
        "precious_metals or private_banking"
    ],
    "unknown_entity": [
        "6:entity: unknown entity '招行': use a bank code (icbc, ccb, abc, boc), a bank's "
        "Chinese name, or branch:<name>"
    ],
    "branch_without_name": [
        "6:entity: entity 'branch:' names no branch: write branch:<name>, e.g. branch:广东"
    ],
    "duplicate_row": [
        "6:kpi_code: duplicate row: mb_customers for icbc in 2020-06 is already on row 2"
    ],
    "duplicate_branch": [
        "7:kpi_code: duplicate row: mb_customers for branch:广东 in 2020-06 is already on row 6"
    ],
    "required_missing": [
        "-:kpi_code: required KPI mb_txn_count_ytd (手机银行业务笔数累计) is missing for icbc "
        "(工商银行)"
    ],
    "empty_file": ["-:-: the file is empty: expected a header row and data rows"],
    "header_only": ["-:-: the file has a header but no data rows"],
    "truncated_last_row": [
        "6:-: the file ends in the middle of this row (3 of 7 cells): it looks truncated"
    ],
    "truncated_in_quotes": ["6:-: the file ends inside a quoted cell: it looks truncated"],
    "too_many_cells": ["6:-: this row has 8 cells, the header has 7"],
    "missing_column": ["1:-: missing column unit (单位)"],
    "unknown_column": [
        "1:comment: unknown column 'comment': expected period, lob, kpi_code, entity, value, "
        "unit, note (or 期间, 业务条线, 指标代码, 主体, 数值, 单位, 备注)"
    ],
    "column_twice": ["1:数值: column value appears twice"],
    "undecodable": [
        "2:-: cannot decode line 2: the file is neither UTF-8 nor GBK/GB18030; save it as "
        "'CSV UTF-8'"
    ],
    "damaged_utf8": [
        "6:-: cannot decode line 6 as UTF-8 although the lines before it are UTF-8: the file "
        "is damaged or mixes encodings; save it again as 'CSV UTF-8'"
    ],
    "utf16": ["1:-: the file is UTF-16 (Excel 'Unicode Text'): save it as 'CSV UTF-8' or 'CSV'"],
    "gbk_with_problems": ["6:value: value 'abc' is not a number"],
    "chinese_headers_with_problems": [
        "6:数值: value -1 is negative: mb_customers is a count in 户"
    ],
    "note_with_nul": [
        "6:note: note holds control character U+0000: only tabs and line breaks may stand in a note"
    ],
    "note_with_control": [
        "6:note: note holds control character U+001B: only tabs and line breaks may stand in a note"
    ],
    "branch_with_nul": [
        "6:entity: branch name holds control character U+0000: write it as plain text"
    ],
    "branch_with_line_break": [
        "6:entity: branch name holds control character U+000A: write it as plain text"
    ],
    "branch_too_long": ["6:entity: branch name is 51 characters long; at most 50 are allowed"],
    "value_too_many_digits": [
        "6:value: value '1111111111111111111' has 19 digits before the decimal point; "
        "at most 18 are allowed"
    ],
    "gbk_with_utf8_line": [
        "7:-: line 7 is UTF-8 Chinese text but the lines before it are GBK/GB18030: the file "
        "mixes encodings; save it again as 'CSV UTF-8'"
    ],
    "value_too_many_decimals": [
        "6:value: value '3.66666666666' has 11 digits after the decimal point; "
        "at most 10 are allowed"
    ],
}


def test_corpus_is_complete():
    cases = {p.name for p in (FIXTURES / "malformed").iterdir()}
    assert cases == set(EXPECTED)
    assert len(cases) >= 25


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_malformed_file_reports_exact_messages(case, catalogue):
    path = FIXTURES / "malformed" / case / "2020-06" / "mobile_banking.csv"
    problems = validate_file(path, catalogue)
    assert [str(p) for p in problems] == [f"{path}:{line}" for line in EXPECTED[case]]


def test_all_problems_of_a_file_are_reported_at_once(tmp_path, catalogue):
    path = tmp_path / "2020-06" / "mobile_banking.csv"
    path.parent.mkdir()
    path.write_text(
        "period,lob,kpi_code,entity,value,unit,note\n"
        "2020-06,mobile_banking,mb_customers,icbc,3.85,亿户,\n"
        "2020-05,mobile_banking,mb_custmers,招行,abc,千户,\n"
        "\n"
        "2020-06,mobile_banking,mb_pen_new,icbc,101,%,\n",
        encoding="utf-8",
    )
    lines = [str(p).removeprefix(f"{path}:") for p in validate_file(path, catalogue)]
    assert lines == [
        "-:kpi_code: required KPI mb_monthly_active (手机银行月均动户数) is missing for icbc (工商银行)",
        "-:kpi_code: required KPI mb_txn_amount_ytd (手机银行交易金额累计) is missing for icbc "
        "(工商银行)",
        "-:kpi_code: required KPI mb_txn_count_ytd (手机银行业务笔数累计) is missing for icbc "
        "(工商银行)",
        "3:period: period 2020-05 does not match the folder 2020-06",
        "3:kpi_code: unknown kpi_code 'mb_custmers' (did you mean mb_customers?)",
        "3:entity: unknown entity '招行': use a bank code (icbc, ccb, abc, boc), a bank's "
        "Chinese name, or branch:<name>",
        "3:value: value 'abc' is not a number",
        f"3:unit: unknown unit '千户': expected one of {UNIT_LIST}",
        # the blank line 4 is a row in a spreadsheet too
        "5:value: value 101% is outside 0–100%",
    ]


def test_file_outside_a_month_folder_takes_period_and_lob_from_content(catalogue):
    path = FIXTURES / "unplaced" / "mixed_periods.csv"
    assert [str(p) for p in validate_paths([path], catalogue)] == [
        f"{path}:6:period: period 2020-05 differs from 2020-06 on row 2: a file holds one month"
    ]


def test_file_outside_a_month_folder_holds_one_line_of_business(tmp_path, catalogue):
    path = tmp_path / "mixed_lobs.csv"
    path.write_text(
        "period,lob,kpi_code,entity,value,unit\n"
        "2020-06,mobile_banking,mb_customers,icbc,3.85,亿户\n"
        "2020-06,credit_card,cc_epay_merchants,icbc,212,万户\n",
        encoding="utf-8",
    )
    row_problems = [str(p) for p in validate_paths([path], catalogue) if p.row is not None]
    assert row_problems == [
        f"{path}:3:lob: line of business credit_card differs from mobile_banking on row 2: "
        "a file holds one line of business",
        f"{path}:3:kpi_code: kpi_code cc_epay_merchants belongs to credit_card, not mobile_banking",
    ]


def test_unsupported_extension(tmp_path, catalogue):
    path = tmp_path / "2020-06" / "mobile_banking.txt"
    path.parent.mkdir()
    path.write_text("period\n", encoding="utf-8")
    assert [str(p) for p in validate_paths([path], catalogue)] == [
        f"{path}:-:-: unsupported file type '.txt': submit .csv or .xlsx"
    ]
