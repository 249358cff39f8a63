"""Prove that archived briefs come from the warehouse's data and the templates they name.

`verify_month` renders the month again from the marts, into a scratch folder, each brief
as its latest archived edition printed it (with that edition's 更正说明), and compares
the PDFs with the archive byte for byte. The render is reproducible (`briefs/render.py`),
so a difference has a cause, found by comparing the fresh provenance with the manifest's:
- `data`: the rows the brief reads changed (the data snapshot differs);
- `templates`: the templates or the wording config changed (the template version differs);
- `renderer`: neither did, so the code or a library that renders changed;
- `no provenance`: the manifest recorded no hashes for that edition, so no cause is known;
- `not rendered`: the warehouse has no facts for that brief this month.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.briefs.render import RenderedBrief, render_month
from strategy_briefs.delivery.archive import MANIFEST_NAME, month_dir, read_manifest
from strategy_briefs.hashing import file_sha256
from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams


@dataclass(frozen=True)
class ArchivedEdition:
    """One edition of one brief, as the archive manifest records it."""

    brief_id: str
    edition: int
    pdf_path: Path
    pdf_sha256: str
    data_snapshot_sha256: str | None
    template_version: str | None
    reissue_reason: str | None


@dataclass(frozen=True)
class BriefCheck:
    archived: ArchivedEdition
    identical: bool
    causes: tuple[str, ...]  # empty when identical; see the module docstring

    def line(self) -> str:
        name = f"{self.archived.brief_id} edition {self.archived.edition}"
        if self.identical:
            return f"{name}: identical to {self.archived.pdf_path.name}"
        return f"{name}: differs from {self.archived.pdf_path.name}: {'; '.join(self.causes)}"


@dataclass(frozen=True)
class MonthVerification:
    period: Period
    checks: tuple[BriefCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.identical for check in self.checks)


def latest_editions(archive_root: Path, period: str) -> list[ArchivedEdition]:
    """The latest archived edition of every brief of the month; an error if none is."""
    folder = month_dir(archive_root, period)
    if not (folder / MANIFEST_NAME).exists():
        raise FileNotFoundError(f"no archive manifest for {period}: {folder / MANIFEST_NAME}")
    latest: dict[str, ArchivedEdition] = {}
    for entry in read_manifest(archive_root, period)["editions"]:
        edition = ArchivedEdition(
            brief_id=entry["brief_id"],
            edition=entry["edition"],
            pdf_path=folder / entry["pdf_file"],
            pdf_sha256=entry["pdf_sha256"],
            data_snapshot_sha256=entry.get("data_snapshot_sha256"),
            template_version=entry.get("template_version"),
            reissue_reason=entry.get("reissue_reason"),
        )
        if edition.brief_id not in latest or edition.edition > latest[edition.brief_id].edition:
            latest[edition.brief_id] = edition
    return [latest[brief] for brief in sorted(latest)]


def causes_of_difference(archived: ArchivedEdition, fresh: RenderedBrief) -> tuple[str, ...]:
    """Why a fresh render differs from the archived edition (module docstring)."""
    if archived.data_snapshot_sha256 is None or archived.template_version is None:
        return ("no provenance: the manifest records no data snapshot or template version",)
    causes = []
    if fresh.data_snapshot_sha256 != archived.data_snapshot_sha256:
        causes.append(
            f"data changed (snapshot {fresh.data_snapshot_sha256[:12]}…, archived "
            f"{archived.data_snapshot_sha256[:12]}…)"
        )
    if fresh.template_version != archived.template_version:
        causes.append(
            f"templates changed (version {fresh.template_version[:12]}…, archived "
            f"{archived.template_version[:12]}…)"
        )
    return tuple(causes) or ("renderer changed: same data and templates, other bytes",)


def check_brief(archived: ArchivedEdition, fresh: RenderedBrief | None) -> BriefCheck:
    if file_sha256(archived.pdf_path) != archived.pdf_sha256:
        return BriefCheck(archived, False, ("the archived file does not match its manifest",))
    if fresh is None:
        return BriefCheck(archived, False, ("not rendered: no brief facts for it this month",))
    if fresh.path.read_bytes() == archived.pdf_path.read_bytes():
        return BriefCheck(archived, True, ())
    return BriefCheck(archived, False, causes_of_difference(archived, fresh))


def verify_month(
    params: WarehouseParams,
    period: Period,
    archive_root: Path,
    *,
    templates_dir: Path | None = None,
    config_file: Path | None = None,
) -> MonthVerification:
    """Render the month again and compare each brief's latest archived edition with it."""
    editions = latest_editions(archive_root, str(period))  # the archive's folder name
    corrections = {e.brief_id: e.reissue_reason for e in editions if e.reissue_reason}
    with tempfile.TemporaryDirectory(prefix="strategy-briefs-verify-") as scratch:
        rendered = render_month(
            params,
            period,
            Path(scratch),
            corrections=corrections,
            templates_dir=templates_dir,
            config_file=config_file,
        )
        fresh = {brief.brief_id: brief for brief in rendered}
        checks = tuple(check_brief(e, fresh.get(e.brief_id)) for e in editions)
    return MonthVerification(period, checks)
