"""Loading into the real warehouse: replace-by-month, idempotency, rejection, faults."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from strategy_briefs import warehouse
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest import (
    LoadProgress,
    SubmissionInvalid,
    find_submissions,
    load_month,
    load_submission,
)
from strategy_briefs_demo.sample_data import write_large_submission
from tests.helpers.month_rows import month_rows

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
FIGURE_COLUMNS = (
    "period, lob_code, kpi_code, entity_type, entity_code, value_submitted, unit_submitted,"
    " value_base, qualifier, note, is_demo_data, source_file, source_row"
)
pytestmark = pytest.mark.usefixtures("test_months")


def figures(db, period: str, lob_code: str | None = None) -> list[tuple]:
    order = "lob_code, source_row"
    return month_rows(
        db, "raw.lob_figures", FIGURE_COLUMNS, period, order_by=order, lob_code=lob_code
    )


def audit(db, period: str) -> list[tuple]:
    return month_rows(db, "raw.load_audit", "lob_code, status, row_count, problem_count", period)


def load_mobile_banking(params, path: Path, period: str, catalogue, **options):
    return load_submission(
        params, path, period=period, lob_code="mobile_banking", catalogue=catalogue, **options
    )


def refused(params, path: Path, period: str, catalogue) -> SubmissionInvalid:
    """The refusal of a mobile banking file that must not load."""
    with pytest.raises(SubmissionInvalid) as raised:
        load_mobile_banking(params, path, period, catalogue)
    return raised.value


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


GOOD = (
    "period,lob,kpi_code,entity,value,unit,note\n"
    "{p},mobile_banking,mb_customers,icbc,3.85,亿户,已发布\n"
    "{p},mobile_banking,mb_customers,ccb,3.6738,亿户,推算\n"
    "{p},mobile_banking,mb_monthly_active,icbc,7726,万户,已发布\n"
    "{p},mobile_banking,mb_txn_amount_ytd,icbc,31.5,万亿元,已发布\n"
    "{p},mobile_banking,mb_txn_count_ytd,icbc,369.0,亿笔,已发布\n"
    "{p},mobile_banking,mb_online_share_wealth,icbc,超过99,%,已发布\n"
    "{p},mobile_banking,mb_monthly_active,branch:广东,近520,万户,演示数据\n"
)


def test_demo_month_loads_from_the_bundled_sample(
    warehouse_params, db, catalogue, tmp_path, copy_sample_month
):
    copy_sample_month("2020-06", tmp_path, "2031-06")
    results = load_month(warehouse_params, tmp_path, "2031-06", catalogue)
    assert [r.lob_code for r in results] == [
        "mobile_banking",
        "credit_card",
        "precious_metals",
        "private_banking",
    ]
    rows = figures(db, "2031-06")
    assert len(rows) == sum(r.row_count for r in results) > 40
    by_key = {(r[2], r[4]): r for r in rows}
    assert by_key["mb_txn_count_ytd", "icbc"][5:9] == (
        "369.0",
        "亿笔",
        Decimal("36900000000.0"),
        None,
    )
    assert by_key["cc_rongejie_disbursed_cum", "icbc"][5:9] == (
        "4800",
        "亿元",
        Decimal("480000000000"),
        "超过",
    )
    assert by_key["cc_scenarios", "icbc"][8] == "余"
    assert by_key["pb_branch_clients", "广东"][10] is True  # demo data
    assert by_key["pb_clients", "icbc"][10] is False  # published


def test_reload_replaces_the_month_exactly(warehouse_params, db, catalogue, tmp_path):
    path = write(tmp_path / "2031-01" / "mobile_banking.csv", GOOD.format(p="2031-01"))
    first = load_mobile_banking(warehouse_params, path, "2031-01", catalogue)
    before = figures(db, "2031-01")
    second = load_mobile_banking(warehouse_params, path, "2031-01", catalogue)
    assert figures(db, "2031-01") == before
    assert (first.row_count, second.row_count, second.replaced_rows) == (7, 7, 7)
    assert second.load_id > first.load_id
    assert db.execute(
        "select distinct load_id from raw.lob_figures where period = '2031-01-01'"
    ).fetchall() == [(second.load_id,)]
    # a smaller file replaces, it does not merge
    smaller = write(
        path,
        GOOD.format(p="2031-01").replace(
            "2031-01,mobile_banking,mb_customers,ccb,3.6738,亿户,推算\n", ""
        ),
    )
    load_mobile_banking(warehouse_params, smaller, "2031-01", catalogue)
    assert len(figures(db, "2031-01")) == 6


def test_bad_file_changes_nothing_and_is_audited(warehouse_params, db, catalogue, tmp_path):
    earlier = write(tmp_path / "2031-02" / "mobile_banking.csv", GOOD.format(p="2031-02"))
    good = write(tmp_path / "2031-03" / "mobile_banking.csv", GOOD.format(p="2031-03"))
    for period, path in (("2031-02", earlier), ("2031-03", good)):
        load_mobile_banking(warehouse_params, path, period, catalogue)
    earlier_rows, month_rows = figures(db, "2031-02"), figures(db, "2031-03")
    bad = write(
        tmp_path / "bad" / "2031-03" / "mobile_banking.csv",
        GOOD.format(p="2031-03") + "2031-03,mobile_banking,mb_customers,abc,abc,亿户,\n",
    )
    refusal = refused(warehouse_params, bad, "2031-03", catalogue)
    assert [str(p) for p in refusal.problems] == [f"{bad}:9:value: value 'abc' is not a number"]
    assert figures(db, "2031-03") == month_rows
    assert figures(db, "2031-02") == earlier_rows
    assert audit(db, "2031-03") == [
        ("mobile_banking", "loaded", 7, 0),
        ("mobile_banking", "rejected", 8, 1),
    ]
    recorded = db.execute(
        "select problems from raw.load_audit where load_id = %s", (refusal.load_id,)
    ).fetchone()[0]
    assert recorded == [f"{bad}:9:value: value 'abc' is not a number"]


def test_duplicates_found_by_the_server_are_reported_like_the_validator_does(
    warehouse_params, db, catalogue, tmp_path
):
    text = GOOD.format(p="2031-04") + "2031-04,mobile_banking,mb_customers,工商银行,3.9,亿户,\n"
    path = write(tmp_path / "2031-04" / "mobile_banking.csv", text)
    refusal = refused(warehouse_params, path, "2031-04", catalogue)
    assert [str(p) for p in refusal.problems] == [
        f"{path}:9:kpi_code: duplicate row: mb_customers for icbc in 2031-04 is already on row 2"
    ]
    assert figures(db, "2031-04") == []


def test_gbk_and_utf8_bom_twins_load_identical_rows(warehouse_params, db, catalogue, tmp_path):
    loaded = []
    for name in ("gbk", "utf8_bom"):
        source = FIXTURES / "encodings" / name / "2020-06" / "mobile_banking.csv"
        text = source.read_bytes().replace(b"2020-06,", b"2031-05,")
        path = tmp_path / name / "2031-05" / "mobile_banking.csv"
        path.parent.mkdir(parents=True)
        path.write_bytes(text)
        result = load_mobile_banking(warehouse_params, path, "2031-05", catalogue)
        assert result.source_encoding == {"gbk": "gb18030", "utf8_bom": "utf-8-sig"}[name]
        loaded.append(figures(db, "2031-05"))
    assert loaded[0] == loaded[1]
    assert len(loaded[0]) == 9


def test_load_month_validates_every_file_first_and_needs_every_line_of_business(
    warehouse_params, db, catalogue, tmp_path, copy_sample_month
):
    folder = copy_sample_month("2020-06", tmp_path, "2031-09")
    card = folder / "credit_card.csv"
    card.write_text(
        card.read_text(encoding="utf-8") + "2031-09,credit_card,cc_scenarios,branch:广东,-1,个,\n",
        encoding="utf-8",
    )
    (folder / "private_banking.csv").unlink()
    with pytest.raises(SubmissionInvalid) as raised:
        load_month(warehouse_params, tmp_path, "2031-09", catalogue)
    assert [str(p) for p in raised.value.problems] == [
        f"{card}:12:value: value -1 is negative: cc_scenarios is a count in 个",
        f"{folder / 'private_banking.csv'}:-:-: missing submission: private_banking (私人银行) "
        "has no private_banking.csv or private_banking.xlsx for 2031-09",
    ]
    assert figures(db, "2031-09") == []  # the good files were not loaded either
    assert audit(db, "2031-09") == [("credit_card", "rejected", 0, 1)]


def test_find_submissions(tmp_path):
    folder = tmp_path / "2031-10"
    folder.mkdir()
    for name in (
        "mobile_banking.csv",
        "credit_card.xlsx",
        "~$credit_card.xlsx",
        ".hidden.csv",
        "mobile_banking.highlights.yaml",
    ):
        (folder / name).write_text("x")
    assert find_submissions(tmp_path, "2031-10") == {
        "credit_card": folder / "credit_card.xlsx",
        "mobile_banking": folder / "mobile_banking.csv",
    }
    (folder / "credit_card.csv").write_text("x")
    with pytest.raises(ValueError, match="two submissions for credit_card"):
        find_submissions(tmp_path, "2031-10")
    assert find_submissions(tmp_path, "2031-11") == {}


def test_connection_killed_mid_copy_changes_nothing_and_a_retry_succeeds(
    warehouse_params, db, catalogue, tmp_path
):
    period = "2031-07"
    small = write(tmp_path / "small" / period / "mobile_banking.csv", GOOD.format(p=period))
    load_mobile_banking(warehouse_params, small, period, catalogue)
    before, audit_before = figures(db, period), audit(db, period)
    big = write_large_submission(
        tmp_path / "big" / period / "mobile_banking.csv", 60_000, period=period
    )
    killed = threading.Event()

    def kill_on_first_chunk(progress: LoadProgress) -> None:
        if killed.is_set():
            return
        # the COPY is streaming: end the loading connection's server process from outside
        with warehouse.connect(warehouse_params, autocommit=True) as admin:
            assert admin.execute(
                "select pg_terminate_backend(%s)", (progress.backend_pid,)
            ).fetchone() == (True,)
        killed.set()

    with pytest.raises(psycopg.OperationalError):
        load_mobile_banking(
            warehouse_params, big, period, catalogue, on_progress=kill_on_first_chunk
        )
    assert killed.is_set()
    assert figures(db, period) == before
    assert audit(db, period) == audit_before
    retry = load_mobile_banking(warehouse_params, big, period, catalogue)
    assert retry.row_count == 60_000
    assert db.execute(
        "select count(*) from raw.lob_figures where period = %s", (f"{period}-01",)
    ).fetchone() == (60_000,)
