"""Duplicate keys found from fixed-size digests (ingest/duplicates.py), as the contract words
them: each repeat names the first row of its key, whatever the keys look like.

The files are validated by the real validator; nothing is written to the warehouse.
"""

from __future__ import annotations

from pathlib import Path

from strategy_briefs.ingest import check_file, validate_file
from strategy_briefs.ingest.validation import MAX_BRANCH_CHARS, MAX_PROBLEMS, MEMO_ENTRIES

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
