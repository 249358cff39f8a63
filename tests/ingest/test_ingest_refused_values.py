"""Validation promises what the load keeps: the probe's values, loaded into the real warehouse.

Each value PostgreSQL would refuse (a NUL, a key too long for the btree index, a number
beyond `numeric`) is a validation problem, never a raw database error; a refusal the
validation cannot foresee is still a 'rejected' audit row with the database's reason. In
every case the month keeps its earlier rows and the task fails without retries.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from strategy_briefs.ingest import SubmissionInvalid, load_submission
from strategy_briefs.ingest.loading import LoadRefused
from strategy_briefs.ingest.reading import MAX_CELL_CHARS
from strategy_briefs.orchestration.tasks import failing_at_once
from tests.helpers.month_rows import month_rows

pytestmark = pytest.mark.usefixtures("test_months")
LOB = "mobile_banking"
GOOD = (
    "period,lob,kpi_code,entity,value,unit,note\n"
    "{p},mobile_banking,mb_customers,icbc,3.85,亿户,已发布\n"
    "{p},mobile_banking,mb_monthly_active,icbc,7726,万户,已发布\n"
    "{p},mobile_banking,mb_txn_amount_ytd,icbc,31.5,万亿元,已发布\n"
    "{p},mobile_banking,mb_txn_count_ytd,icbc,369.0,亿笔,已发布\n"
)
# row 6 of GOOD + this: what the probe loaded (or the load then failed on)
HOSTILE_ROWS = {
    "entity_of_6000_characters": (
        "{p},mobile_banking,mb_monthly_active,branch:" + "广东" * 3000 + ",520,万户,\n",
        "6:entity: branch name is 6,000 characters long; at most 50 are allowed",
    ),
    "nul_in_note": (
        "{p},mobile_banking,mb_customers,ccb,3.6,亿户,推算\x00\n",
        "6:note: note holds control character U+0000: only tabs and line breaks may stand "
        "in a note",
    ),
    "nul_in_branch": (
        "{p},mobile_banking,mb_monthly_active,branch:广\x00东,520,万户,\n",
        "6:entity: branch name holds control character U+0000: write it as plain text",
    ),
    "beyond_numeric": (  # × 万亿 would overflow numeric's 131,072 digits
        "{p},mobile_banking,mb_txn_amount_ytd,ccb," + "9" * 131_070 + ",万亿元,\n",
        "6:value: value '" + "9" * 59 + "…' has 131,070 digits before the decimal point; "
        "at most 18 are allowed",
    ),
    "cell_over_128_kib": (
        "{p},mobile_banking,mb_customers,ccb,3.6,亿户," + "注" * (MAX_CELL_CHARS + 1) + "\n",
        "6:-: a cell of this row is longer than 131,072 characters, the most a cell may "
        "hold: the file is damaged or not a submission (nothing after it was read)",
    ),
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def figures(db, period: str) -> list[tuple]:
    columns = "kpi_code, entity_code, value_base, note, load_id"
    return month_rows(db, "raw.lob_figures", columns, period, order_by="kpi_code, entity_code")


def load(params, path: Path, period: str, catalogue):
    return load_submission(params, path, period=period, lob_code=LOB, catalogue=catalogue)


@pytest.mark.parametrize("case", sorted(HOSTILE_ROWS))
def test_value_the_warehouse_would_refuse_is_a_validation_problem(
    case, warehouse_params, db, catalogue, tmp_path
):
    period = "2031-07"
    load(warehouse_params, write(tmp_path / "good" / period / f"{LOB}.csv", GOOD.format(p=period)),
         period, catalogue)  # fmt: skip
    before = figures(db, period)
    row, message = HOSTILE_ROWS[case]
    bad = write(tmp_path / period / f"{LOB}.csv", GOOD.format(p=period) + row.format(p=period))
    with pytest.raises(AirflowFailException) as raised:
        with failing_at_once():  # what the DAG's load task runs it in: no retries
            load(warehouse_params, bad, period, catalogue)
    invalid = raised.value.__cause__
    assert type(invalid) is SubmissionInvalid  # found by validation, not by the server
    assert [str(p) for p in invalid.problems] == [f"{bad}:{message}"]
    assert figures(db, period) == before  # nothing half-loaded, the earlier rows stay
    status, problems = db.execute(
        "select status, problems from raw.load_audit where load_id = %s", (invalid.load_id,)
    ).fetchone()
    assert (status, problems) == ("rejected", [f"{bad}:{message}"])


def test_a_refusal_validation_cannot_foresee_is_a_rejected_audit_row_with_its_reason(
    warehouse_params, db, catalogue, tmp_path
):
    """A constraint the validation knows nothing of stands for any such database error."""
    period = "2031-08"
    load(warehouse_params, write(tmp_path / "good" / period / f"{LOB}.csv", GOOD.format(p=period)),
         period, catalogue)  # fmt: skip
    before = figures(db, period)
    path = write(tmp_path / period / f"{LOB}.csv", GOOD.format(p=period).replace("3.85", "3.9"))
    db.execute(
        "alter table raw.lob_figures add constraint test_value_below_a_trillion"
        " check (value_base < 1e12) not valid"
    )
    db.commit()
    try:
        with pytest.raises(AirflowFailException) as raised:
            with failing_at_once():
                load(warehouse_params, path, period, catalogue)
    finally:
        db.execute("alter table raw.lob_figures drop constraint test_value_below_a_trillion")
        db.commit()
    reason = (
        f"{path}:-:-: the warehouse refused the load (SQLSTATE 23514): new row for relation "
        '"lob_figures" violates check constraint "test_value_below_a_trillion"'
    )
    refused = raised.value.__cause__
    assert isinstance(refused, LoadRefused)
    assert [str(p) for p in refused.problems] == [reason]
    assert figures(db, period) == before
    status, problems = db.execute(
        "select status, problems from raw.load_audit where load_id = %s", (refused.load_id,)
    ).fetchone()
    assert (status, problems) == ("rejected", [reason])


def test_xlsx_cell_over_the_cell_limit_is_refused_with_its_column(tmp_path, catalogue):
    """Excel stops at 32,767 characters (openpyxl cuts what it writes there), so the long
    cell is put into the sheet's XML itself, as a crafted workbook would hold it."""
    import zipfile

    import openpyxl

    from strategy_briefs.ingest import validate_file

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in GOOD.format(p="2031-09").splitlines():
        sheet.append(line.split(","))
    sheet.append(["2031-09", LOB, "mb_customers", "ccb", "3.6", "亿户", "LONG-NOTE"])
    plain = tmp_path / "plain.xlsx"
    workbook.save(plain)
    path = tmp_path / "2031-09" / f"{LOB}.xlsx"
    path.parent.mkdir()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as crafted:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"LONG-NOTE", "注".encode() * (MAX_CELL_CHARS + 1))
            crafted.writestr(item, data)
    assert [str(p) for p in validate_file(path, catalogue)] == [
        f"{path}:6:note: the cell is longer than 131,072 characters, the most a cell may hold"
    ]


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("kpi_code", 2, "unknown kpi_code '{q}'"),
        ("entity", 3, "unknown entity '{q}': use a bank code (icbc, ccb, abc, boc), a bank's "
         "Chinese name, or branch:<name>"),
        ("value", 4, "value '{q}' is not a number"),
        ("period", 0, "period '{q}' is not a month: write YYYY-MM"),
    ],
)  # fmt: skip
def test_a_huge_cell_is_quoted_as_an_excerpt(column, cell, message, tmp_path, catalogue):
    """10,000 problems quoting whole 128 KiB cells would pass jsonb's 256 MB in the audit row."""
    from strategy_briefs.ingest import validate_file

    cells = ["2031-10", LOB, "mb_customers", "ccb", "3.6", "亿户", ""]
    cells[cell] = "x" * 100_000
    path = write(tmp_path / "2031-10" / f"{LOB}.csv", GOOD.format(p="2031-10") + ",".join(cells))
    quoted = "x" * 59 + "…"
    assert [str(p) for p in validate_file(path, catalogue)] == [
        f"{path}:6:{column}: {message.format(q=quoted)}"
    ]


def test_a_nul_in_a_note_is_found_on_rows_the_fast_path_takes(tmp_path, catalogue):
    """Row 7's KPI, entity and unit were all seen valid before: it takes the fast path."""
    from strategy_briefs.ingest import validate_file

    rows = (
        "2031-11,mobile_banking,mb_monthly_active,ccb,520,万户,\n"
        "2031-11,mobile_banking,mb_customers,ccb,3.6,亿户,推\x00算\n"
        "2031-11,mobile_banking,mb_customers,abc,3.1,亿户,行内\t数据\n"  # a tab is text
    )
    path = write(tmp_path / "2031-11" / f"{LOB}.csv", GOOD.format(p="2031-11") + rows)
    assert [str(p) for p in validate_file(path, catalogue)] == [
        f"{path}:7:note: note holds control character U+0000: only tabs and line breaks may "
        "stand in a note"
    ]
