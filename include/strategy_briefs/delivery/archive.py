"""Immutable archive of every sent PDF: `<output>/archive/<YYYY-MM>/`.

- `<brief_id>.edition-<n>.pdf`: written once (hard link from a temporary file, so an
  existing file is never replaced), then made read-only. Archiving the same bytes again is
  a no-op; different bytes for an archived edition raise `ArchiveConflict`.
- `<brief_id>.edition-<n>.trace.json`: the claims file rendered beside the PDF (every
  sentence, the brief_fact_keys it rests on and the rule that wrote it, briefs/trace.py),
  archived with it, written once and read-only; the first one archived with a PDF stays.
- `manifest.json`: per brief and edition the PDF's SHA-256, the data snapshot hash of the
  brief facts, the template version, the re-issue reason and, from the ledger, every
  recipient with its Message-ID and status. Rewritten atomically after each delivery; the
  fields fixed at archive time are never changed afterwards.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from strategy_briefs.briefs.trace import TRACE_SUFFIX, trace_path
from strategy_briefs.delivery.ledger import LedgerRow
from strategy_briefs.hashing import file_sha256, sha256_hex
from strategy_briefs.periods import Period

MANIFEST_NAME = "manifest.json"
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class ArchiveConflict(RuntimeError):
    """An archived edition would change: a different PDF was offered for it."""


@dataclass(frozen=True)
class ArchivedPdf:
    path: Path
    sha256: str
    trace_path: Path | None = None  # the claims file archived with it, when one was rendered


def month_dir(archive_root: Path, period: str) -> Path:
    Period.parse(period)
    return Path(archive_root) / period


def archived_pdf_path(archive_root: Path, period: str, brief_id: str, edition: int) -> Path:
    return month_dir(archive_root, period) / f"{brief_id}.edition-{edition}.pdf"


def archive_pdf(
    archive_root: Path, period: str, brief_id: str, edition: int, pdf_path: Path
) -> ArchivedPdf:
    """Copy the PDF, and the claims file beside it if there is one, into the archive once
    and make them read-only; see the module docstring."""
    target = archived_pdf_path(archive_root, period, brief_id, edition)
    sha = _archive_once(target, Path(pdf_path).read_bytes(), "PDF", brief_id, edition)
    rendered_trace = trace_path(pdf_path)
    archived_trace = target.with_suffix(TRACE_SUFFIX)
    # The claims file describes the archived bytes: the first one archived with them stays
    # (a later render of the same PDF says the same sentences).
    if rendered_trace.exists() and not archived_trace.exists():
        _archive_once(archived_trace, rendered_trace.read_bytes(), "claims file", brief_id, edition)
    return ArchivedPdf(target, sha, archived_trace if archived_trace.exists() else None)


def _archive_once(target: Path, data: bytes, noun: str, brief_id: str, edition: int) -> str:
    """Write `data` at `target` unless it is there; the same bytes again are a no-op,
    different bytes raise ArchiveConflict. Returns the SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    sha = sha256_hex(data)
    if not target.exists():
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, READ_ONLY)
            try:
                os.link(tmp_name, target)  # fails if the target appeared meanwhile
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp_name)
    existing = file_sha256(target)
    if existing != sha:
        raise ArchiveConflict(
            f"{target} already holds a different {noun} (sha256 {existing[:12]}…, offered "
            f"{sha[:12]}…): edition {edition} of {brief_id} for {target.parent.name} was already "
            "sent with other content; send the new PDF as a re-issue (force_reissue with a reason)"
        )
    if stat.S_IMODE(target.stat().st_mode) & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        os.chmod(target, READ_ONLY)
    return sha


def snapshot_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """A stable SHA-256 of brief-fact rows (order-independent; Decimal/date as text)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f") if value == value else "NaN"
        if isinstance(value, date | datetime):
            return value.isoformat()
        return value

    canonical = sorted(
        json.dumps({k: plain(v) for k, v in row.items()}, sort_keys=True, ensure_ascii=False)
        for row in rows
    )
    return sha256_hex("\n".join(canonical).encode("utf-8"))


def read_manifest(archive_root: Path, period: str) -> dict[str, Any]:
    path = month_dir(archive_root, period) / MANIFEST_NAME
    if not path.exists():
        return {"period": period, "editions": []}
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest(
    archive_root: Path,
    period: str,
    editions: Iterable[Mapping[str, Any]],
    ledger: Iterable[LedgerRow],
) -> Path:
    """Merge this run's editions into the month's manifest and attach the ledger's recipients.

    `editions`: dicts with brief_id, edition, title_zh, pdf_file, pdf_sha256,
    data_snapshot_sha256, template_version, reissue_reason, approval (who, when, comment,
    policy: the decision the edition was first sent under).
    """
    manifest = read_manifest(archive_root, period)
    by_key = {(e["brief_id"], e["edition"]): e for e in manifest.get("editions", [])}
    for entry in editions:
        key = (entry["brief_id"], entry["edition"])
        if key in by_key:
            kept = by_key[key]
            for field_name, value in entry.items():
                if kept.get(field_name) is None and value is not None:
                    kept[field_name] = value  # fill a gap, never overwrite
        else:
            by_key[key] = {**entry}
    rows_by_key: dict[tuple[str, int], list[LedgerRow]] = {}
    for row in ledger:
        rows_by_key.setdefault((row.brief_id, row.edition), []).append(row)
    for key, entry in by_key.items():
        entry["recipients"] = [
            {
                "address": row.recipient,
                "message_id": row.message_id,
                "status": row.status,
                "attempts": row.attempts,
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                "smtp_response": row.smtp_response,
                "approval_id": row.approval_id,
            }
            for row in sorted(rows_by_key.get(key, []), key=lambda r: r.recipient)
        ]
    document = {
        "period": period,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "editions": [by_key[k] for k in sorted(by_key)],
    }
    target = month_dir(archive_root, period) / MANIFEST_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    os.chmod(tmp_name, READ_ONLY)
    os.replace(tmp_name, target)
    return target
