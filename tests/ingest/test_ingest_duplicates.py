"""Duplicate keys decided on the exact keys as the rows are read (ingest/duplicates.py), as
the contract words them: each repeat names the first row of its key, whatever the keys look
like, and the file is read once.

The files are validated by the real validator; nothing is written to the warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path

from strategy_briefs.ingest import check_file, validate_file
from strategy_briefs.ingest.duplicates import entity_key
from strategy_briefs.ingest.validation import (
    MAX_BRANCH_CHARS,
    MAX_PROBLEMS,
    MEMO_ENTRIES,
    SubmissionCheck,
)

HEADER = "period,lob,kpi_code,entity,value,unit,note\n"
REQUIRED = (  # rows 2-5: the reporting bank's required KPIs
    "2020-06,mobile_banking,mb_customers,icbc,3.85,亿户,\n"
    "2020-06,mobile_banking,mb_monthly_active,icbc,7726,万户,\n"
    "2020-06,mobile_banking,mb_txn_amount_ytd,icbc,31.5,万亿元,\n"
    "2020-06,mobile_banking,mb_txn_count_ytd,icbc,369.0,亿笔,\n"
)


def submission(tmp_path: Path, entities: list[str], kpi: str = "mb_monthly_active") -> Path:
    """A mobile-banking file: the required rows, then one `kpi` row per entity (row 6 on)."""
    path = tmp_path / "2020-06" / "mobile_banking.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"2020-06,mobile_banking,{kpi},{entity},52,万户,\n" for entity in entities)
    path.write_text(HEADER + REQUIRED + rows, encoding="utf-8")
    return path


def messages(problems) -> list[str]:
    return [f"{p.row}:{p.column}: {p.message}" for p in problems]


def test_keys_differing_only_in_their_last_character_are_not_duplicates(tmp_path, catalogue):
    prefix = "演示分行" + "区" * (MAX_BRANCH_CHARS - 5)  # 49 characters shared by every name
    names = [f"branch:{prefix}{letter}" for letter in "甲乙丙丁戊己庚辛壬癸"]
    path = submission(tmp_path, [*names, names[6]])
    assert messages(validate_file(path, catalogue)) == [
        f"16:kpi_code: duplicate row: mb_monthly_active for {names[6]} in 2020-06 "
        "is already on row 12"
    ]


def test_a_key_written_two_ways_is_one_key_and_a_bank_is_not_its_namesake_branch(
    tmp_path, catalogue
):
    # 工商银行 is icbc and 广东分行 is 广东; the branch 'icbc' is not the bank icbc
    path = submission(tmp_path, ["branch:icbc", "branch:广东", "工商银行", "branch:广东分行"])
    assert messages(validate_file(path, catalogue)) == [
        "8:kpi_code: duplicate row: mb_monthly_active for icbc in 2020-06 is already on row 3",
        "9:kpi_code: duplicate row: mb_monthly_active for branch:广东 in 2020-06 "
        "is already on row 7",
    ]


def test_duplicates_beyond_the_problem_limit_are_counted_not_listed(tmp_path, catalogue):
    path = submission(tmp_path, ["branch:广东"] * (MAX_PROBLEMS + 6))  # rows 6-10,011
    found = messages(validate_file(path, catalogue))
    assert len(found) == MAX_PROBLEMS + 1
    assert found[0] == (
        "7:kpi_code: duplicate row: mb_monthly_active for branch:广东 in 2020-06 "
        "is already on row 6"
    )
    assert found[MAX_PROBLEMS - 1].startswith(f"{MAX_PROBLEMS + 6}:kpi_code: duplicate row")
    assert found[-1] == "None:None: 5 more problems not shown: fix the ones above first"


def test_a_key_whose_cells_left_the_memo_is_still_found_and_rows_stay_whole(tmp_path, catalogue):
    # more distinct entities than a memo keeps, so the memos are cleared on the way
    names = [f"branch:演示分行{n:06d}" for n in range(MEMO_ENTRIES + 10)]
    path = submission(tmp_path, [*names, names[0]])
    rows, problems = check_file(path, catalogue)
    last = 6 + len(names)
    assert messages(problems) == [
        f"{last}:kpi_code: duplicate row: mb_monthly_active for {names[0]} in 2020-06 "
        "is already on row 6"
    ]
    assert [row.entity_code for row in rows[4:]] == [n[len("branch:") :] for n in names] + [
        names[0][len("branch:") :]
    ]
    assert {(row.kpi_code, row.unit_submitted, row.source_row) for row in rows[-2:]} == {
        ("mb_monthly_active", "万户", last - 1),
        ("mb_monthly_active", "万户", last),
    }


def test_an_entity_key_holds_every_character_of_its_code_after_its_type_byte():
    # a digest or a lossy encoding could not give the code back
    code = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert entity_key("branch", code)[1:].decode("gb18030") == code


def names_sharing_a_hash(bits: int) -> tuple[str, str]:
    """Two branch names whose keys' hashes agree on their last `bits` bits: in a table of up
    to 2**bits slots they are placed in the same slot, so only their bytes tell them apart."""
    seen: dict[int, str] = {}
    for number in range(1 << (bits // 2 + 4)):
        name = f"演示{number}"
        placed = hash(entity_key("branch", name)) & ((1 << bits) - 1)
        if placed in seen:
            return seen[placed], name
        seen[placed] = name
    raise AssertionError(f"no two of the names share their hash's last {bits} bits")


def test_keys_placed_in_the_same_slot_are_told_apart_by_their_bytes(tmp_path, catalogue):
    first, second = names_sharing_a_hash(32)  # a 32-bit digest of the key would say equal
    path = submission(
        tmp_path, [f"branch:{first}", f"branch:{second}", f"branch:{second}", f"branch:{first}"]
    )
    assert messages(validate_file(path, catalogue)) == [
        f"8:kpi_code: duplicate row: mb_monthly_active for branch:{second} in 2020-06 "
        "is already on row 7",
        f"9:kpi_code: duplicate row: mb_monthly_active for branch:{first} in 2020-06 "
        "is already on row 6",
    ]


def test_the_file_is_read_once_so_replacing_it_after_its_last_row_changes_nothing(
    tmp_path, catalogue
):
    path = submission(tmp_path, ["branch:广东", "branch:北京", "branch:广东"])  # rows 6-8
    check = SubmissionCheck(path, catalogue)
    for row in check.rows():
        if row[-1] == 8:  # the last row has been read: the department saves a new file
            replacement = path.with_name("saved_again.csv")
            replacement.write_text(HEADER + REQUIRED, encoding="utf-8")
            os.replace(replacement, path)
    assert messages(check.problems) == [
        "8:kpi_code: duplicate row: mb_monthly_active for branch:广东 in 2020-06 "
        "is already on row 6"
    ]


def test_a_row_of_another_month_does_not_repeat_the_key_of_the_files_month(tmp_path, catalogue):
    path = submission(tmp_path, ["branch:广东"])  # row 6
    with path.open("a", encoding="utf-8") as handle:
        handle.write("2020-07,mobile_banking,mb_monthly_active,branch:广东,52,万户,\n")
        handle.write("2020-07,mobile_banking,mb_monthly_active,branch:广东分行,53,万户,\n")
    assert messages(validate_file(path, catalogue)) == [
        "7:period: period 2020-07 does not match the folder 2020-06",
        "8:period: period 2020-07 does not match the folder 2020-06",
        "8:kpi_code: duplicate row: mb_monthly_active for branch:广东 in 2020-07 "
        "is already on row 7",
    ]
