"""The archive never changes an archived PDF and hashes brief facts stably."""

from __future__ import annotations

import stat
from datetime import date
from decimal import Decimal

import pytest
from delivery_helpers import minimal_pdf

from strategy_briefs.delivery.archive import ArchiveConflict, archive_pdf, snapshot_hash


def test_archive_is_write_once_and_read_only(tmp_path):
    pdf = tmp_path / "brief.pdf"
    pdf.write_bytes(minimal_pdf("one"))
    first = archive_pdf(tmp_path / "archive", "2020-06", "mobile_banking", 1, pdf)
    assert first.path == tmp_path / "archive" / "2020-06" / "mobile_banking.edition-1.pdf"
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o444
    assert archive_pdf(tmp_path / "archive", "2020-06", "mobile_banking", 1, pdf) == first

    pdf.write_bytes(minimal_pdf("two"))
    with pytest.raises(ArchiveConflict, match="already holds a different PDF"):
        archive_pdf(tmp_path / "archive", "2020-06", "mobile_banking", 1, pdf)
    assert first.path.read_bytes() == minimal_pdf("one")
    assert [p.name for p in first.path.parent.iterdir()] == ["mobile_banking.edition-1.pdf"]


def test_snapshot_hash_ignores_row_order_and_sees_value_changes():
    rows = [
        {"brief_fact_key": "2020-06|mobile_banking|customers", "value_base": Decimal("4.30E+8"),
         "period": date(2020, 6, 1)},
        {"brief_fact_key": "2020-06|mobile_banking|txn", "value_base": Decimal("369.0"),
         "period": date(2020, 6, 1)},
    ]  # fmt: skip
    same = [
        dict(rows[1], value_base=Decimal("369")),
        dict(rows[0], value_base=Decimal("430000000")),
    ]
    assert snapshot_hash(rows) == snapshot_hash(same)
    changed = [rows[0], dict(rows[1], value_base=Decimal("369.1"))]
    assert snapshot_hash(rows) != snapshot_hash(changed)


def test_the_claims_file_is_archived_with_its_pdf_under_the_same_rule(tmp_path):
    pdf = tmp_path / "special-edition-2020-06.pdf"
    pdf.write_bytes(minimal_pdf("one"))
    trace = tmp_path / "special-edition-2020-06.trace.json"
    trace.write_text('{"sentences": []}\n', encoding="utf-8")
    first = archive_pdf(tmp_path / "archive", "2020-06", "special_edition", 1, pdf)
    assert first.trace_path == first.path.parent / "special_edition.edition-1.trace.json"
    assert first.trace_path.read_text(encoding="utf-8") == '{"sentences": []}\n'
    assert stat.S_IMODE(first.trace_path.stat().st_mode) == 0o444

    # a render of the same PDF again: the claims file archived with it stays as it was
    trace.write_text('{"sentences": ["renamed rule"]}\n', encoding="utf-8")
    assert archive_pdf(tmp_path / "archive", "2020-06", "special_edition", 1, pdf) == first
    assert first.trace_path.read_text(encoding="utf-8") == '{"sentences": []}\n'
    # a new edition carries its own
    pdf.write_bytes(minimal_pdf("two"))
    second = archive_pdf(tmp_path / "archive", "2020-06", "special_edition", 2, pdf)
    assert second.trace_path.read_text(encoding="utf-8") == '{"sentences": ["renamed rule"]}\n'
