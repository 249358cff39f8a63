"""The incoming folder is hostile ground: links, outside paths, FIFOs, forged names.

The probe behind these tests: `credit_card.csv -> /etc/passwd` echoed `root:x:0:0:…` into
the problem list, the task log, raw.load_audit.problems and the operators' mail. Here the
secret is a file of our own outside the incoming folder.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from strategy_briefs.cli import main
from strategy_briefs.ingest import SubmissionInvalid, find_submissions, load_month
from strategy_briefs.ingest.loading import scan_month
from strategy_briefs.orchestration.tasks import submissions_waiting
from tests.helpers.month_rows import month_rows

pytestmark = pytest.mark.usefixtures("test_months")

SECRET = "root:x:0:0:SECRET-never-echo:/root:/bin/bash\n"
LINK = "is a symbolic link: links are not followed; put the file itself in the folder"
OUTSIDE = "resolves outside the incoming folder (STRATEGY_BRIEFS_INCOMING): not read"
NOT_REGULAR = "is not a regular file: not read"
BAD_NAME = "the file name has control characters: rename the file"


def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


def audit_rows(db, period: str) -> list[tuple]:
    columns = "lob_code, status, source_sha256, source_size, problems::text"
    return month_rows(db, "raw.load_audit", columns, period)


def test_a_symlinked_submission_is_refused_unread_and_audited_without_its_target(
    warehouse_params, db, catalogue, tmp_path, copy_sample_month, caplog
):
    incoming = tmp_path / "incoming"
    folder = copy_sample_month("2020-06", incoming, "2032-01")
    card = folder / "credit_card.csv"
    card.unlink()
    card.symlink_to(secret_file(tmp_path))
    with caplog.at_level(logging.DEBUG), pytest.raises(SubmissionInvalid) as raised:
        load_month(warehouse_params, incoming, "2032-01", catalogue)
    assert [str(p) for p in raised.value.problems] == [f"{card}:-:-: {LINK}"]
    assert "SECRET" not in str(raised.value)
    assert "SECRET" not in caplog.text and "root:x" not in caplog.text  # nor any log line
    # audited as rejected, with no digest or size: the target was never opened
    assert audit_rows(db, "2032-01") == [
        ("credit_card", "rejected", "", 0, f'["{card}:-:-: {LINK}"]')
    ]
    assert db.execute(
        "select count(*) from raw.lob_figures where period = '2032-01-01'"
    ).fetchone() == (0,)


def test_a_month_folder_linked_outside_the_incoming_folder_is_not_read(
    catalogue, tmp_path, copy_sample_month
):
    elsewhere = copy_sample_month("2020-06", tmp_path / "elsewhere", "2032-02")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "2032-02").symlink_to(elsewhere, target_is_directory=True)
    folder = scan_month(incoming, "2032-02")
    assert folder.submissions == {}
    assert [str(p) for p in folder.refused] == [
        f"{incoming / '2032-02' / name}:-:-: {OUTSIDE}"
        for name in sorted(p.name for p in elsewhere.iterdir())
    ]


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    folder = tmp_path / "2032-03"
    folder.mkdir()
    os.mkfifo(folder / "mobile_banking.csv")  # opening it to read would block forever
    (folder / "credit_card.csv").mkdir()  # a folder named like a submission
    assert [str(p) for p in scan_month(tmp_path, "2032-03").refused] == [
        f"{folder / 'credit_card.csv'}:-:-: {NOT_REGULAR}",
        f"{folder / 'mobile_banking.csv'}:-:-: {NOT_REGULAR}",
    ]
    assert find_submissions(tmp_path, "2032-03") == {}


def test_a_name_with_a_newline_is_refused_and_printed_on_one_line(tmp_path):
    folder = tmp_path / "2032-04"
    folder.mkdir()
    forged = "credit_card.csv\ncredit_card.csv:-:-: all good\x1b[2J"
    (folder / forged).write_text(SECRET)
    (folder / "note\u202etxt.csv").write_text(SECRET)  # right-to-left override: a Cf char
    lines = [str(p) for p in scan_month(tmp_path, "2032-04").refused]
    assert lines == [
        f"{folder}/credit_card.csv\\ncredit_card.csv:-:-: all good\\x1b[2J:-:-: {BAD_NAME}",
        f"{folder}/note\\u202etxt.csv:-:-: {BAD_NAME}",
    ]
    assert all("\n" not in line and "SECRET" not in line for line in lines)


def test_the_sensor_counts_a_refused_file_as_arrived_so_validation_reports_it(
    tmp_path, copy_sample_month, monkeypatch
):
    folder = copy_sample_month("2020-06", tmp_path, "2032-05")
    (folder / "credit_card.csv").unlink()
    (folder / "credit_card.csv").symlink_to(secret_file(tmp_path))
    monkeypatch.setenv("STRATEGY_BRIEFS_INCOMING", str(tmp_path))
    assert submissions_waiting("2032-05") == []
    (folder / "mobile_banking.csv").unlink()
    assert submissions_waiting("2032-05") == ["mobile_banking"]


def test_validate_refuses_a_link_and_a_dangling_link(tmp_path, capsys):
    link = tmp_path / "june.csv"
    link.symlink_to(secret_file(tmp_path))
    dangling = tmp_path / "gone.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    assert main(["validate", str(link), str(dangling)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [f"{link}:-:-: {LINK}", f"{dangling}:-:-: {LINK}"]


def test_a_file_that_is_not_a_submission_is_quoted_only_in_a_bounded_excerpt(
    tmp_path, catalogue, capsys
):
    path = tmp_path / "2032-06" / "mobile_banking.csv"
    path.parent.mkdir()
    path.write_text("-----BEGIN OPENSSH PRIVATE KEY-----" + "A" * 5000 + "SECRET\n" + SECRET)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"{path}:1:-: this is not a submission: its first row "
        f"'-----BEGIN OPENSSH PRIVATE KEY-----{'A' * 24}…' has none of the columns "
        "period, lob, kpi_code, entity, value, unit, note "
        "(or 期间, 业务条线, 指标代码, 主体, 数值, 单位, 备注)"
    ]


def test_an_unknown_column_and_a_cell_with_a_newline_print_bounded_on_one_line(
    tmp_path, catalogue, capsys
):
    path = tmp_path / "2032-07" / "mobile_banking.csv"
    path.parent.mkdir()
    path.write_text(
        "period,lob,kpi_code,entity,value,unit," + "x" * 200 + "\n"
        '2032-07,mobile_banking,mb_customers,"icbc\nforged:1:-: ok",3.85,亿户,\n'
    )
    main(["validate", str(path)])
    lines = capsys.readouterr().out.splitlines()
    by_row = [line for line in lines if not line.startswith(f"{path}:-:kpi_code: required KPI")]
    assert by_row[0] == (
        f"{path}:1:{'x' * 59}…: unknown column '{'x' * 59}…': expected period, lob, kpi_code, "
        "entity, value, unit, note (or 期间, 业务条线, 指标代码, 主体, 数值, 单位, 备注)"
    )
    assert by_row[1].startswith(f"{path}:2:entity: unknown entity 'icbc\\nforged:1:-: ok'")
    assert len(by_row) == 2  # no forged line


def test_a_symlinked_highlights_file_is_refused_unread(tmp_path, catalogue):
    from strategy_briefs.ingest.highlights import check_highlights, highlights_path

    path = tmp_path / "2032-08" / "highlights" / "mobile_banking.csv"
    path.parent.mkdir(parents=True)
    path.symlink_to(secret_file(tmp_path))
    found = highlights_path(tmp_path, "2032-08", "mobile_banking")
    check = check_highlights(found, catalogue, period="2032-08", lob_code="mobile_banking")
    assert [str(p) for p in check.problems] == [f"{path}:-:-: {LINK}"]
