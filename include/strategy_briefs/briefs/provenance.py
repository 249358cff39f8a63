"""What a rendered brief came from, as the archive manifest records it.

Rules, one function each:
- data snapshot: the rows the brief was rendered from (its brief facts, its highlights and
  the KPI history behind its charts), each tagged with its mart, hashed in a stable order
  by `archive.snapshot_hash`; a line of business's brief reads only its own rows, the
  special edition all of them (`data_snapshot`);
- template version: every file under templates/ and the wording config, by relative path
  and content (`file_sha256`), hashed the same way (`template_version`).
Both use the package's one hash helper each, so the verifier and the archive agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from strategy_briefs.briefs.facts import BriefFact, BriefHighlight, HistoryPoint
from strategy_briefs.delivery.archive import snapshot_hash
from strategy_briefs.hashing import file_sha256


def data_snapshot(
    facts: Sequence[BriefFact],
    highlights: Sequence[BriefHighlight],
    history: Sequence[HistoryPoint],
    lob_code: str | None = None,
) -> str:
    """SHA-256 of the rows one brief read; `lob_code` None means every line (the edition)."""
    sources = (
        ("brief_facts", facts),
        ("brief_highlights", highlights),
        ("fct_kpi_values_monthly", history),
    )
    return snapshot_hash(
        {"mart": mart, **asdict(row)}
        for mart, rows in sources
        for row in rows
        if lob_code is None or row.lob_code == lob_code
    )


def template_version(templates_dir: Path, config_file: Path) -> str:
    """SHA-256 of the templates (HTML, CSS) and the wording config the briefs print with."""
    files = {
        f"templates/{path.relative_to(templates_dir).as_posix()}": path
        for path in sorted(templates_dir.rglob("*"))
        if path.is_file()
    }
    files[f"config/{config_file.name}"] = config_file
    return snapshot_hash(
        {"file": name, "sha256": file_sha256(path)} for name, path in files.items()
    )
