"""What the render task hands to the quality gate and the send task, as one XCom value.

Airflow's XCom serde rebuilds only allow-listed classes; `RenderedForDelivery` registers
itself when this module is imported (the DAG file imports it through `tasks`), and brings
its own `serialize`/`deserialize` so the nested `HeadlineLine`s and the `Path` survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strategy_briefs.briefs.context import HeadlineLine
from strategy_briefs.briefs.render import RenderedBrief
from strategy_briefs.delivery.models import BriefToSend


@dataclass(frozen=True)
class RenderedForDelivery:
    """One rendered brief: what the gate checks (warnings) and what the mail carries."""

    brief_id: str
    title_zh: str
    path: Path
    sha256: str
    warnings: tuple[str, ...]
    headline_lines: tuple[HeadlineLine, ...]
    demo_notice: str | None
    data_snapshot_sha256: str  # provenance for the archive manifest (briefs/provenance.py)
    template_version: str

    @classmethod
    def from_rendered(cls, brief: RenderedBrief) -> RenderedForDelivery:
        return cls(
            brief_id=brief.brief_id,
            title_zh=brief.title_zh,
            path=brief.path,
            sha256=brief.sha256,
            warnings=brief.warnings,
            headline_lines=brief.headline_lines,
            demo_notice=brief.demo_notice,
            data_snapshot_sha256=brief.data_snapshot_sha256,
            template_version=brief.template_version,
        )

    def to_send(self) -> BriefToSend:
        return BriefToSend(
            brief_id=self.brief_id,
            title_zh=self.title_zh,
            path=self.path,
            headline_lines=self.headline_lines,
            demo_notice=self.demo_notice,
            data_snapshot_sha256=self.data_snapshot_sha256,
            template_version=self.template_version,
        )

    def serialize(self) -> dict[str, Any]:
        return {
            "brief_id": self.brief_id,
            "title_zh": self.title_zh,
            "path": str(self.path),
            "sha256": self.sha256,
            "warnings": list(self.warnings),
            "headline_lines": [[h.lob_name_zh, h.sentence] for h in self.headline_lines],
            "demo_notice": self.demo_notice,
            "data_snapshot_sha256": self.data_snapshot_sha256,
            "template_version": self.template_version,
        }

    @staticmethod
    def deserialize(data: dict[str, Any], version: int) -> RenderedForDelivery:
        return RenderedForDelivery(
            brief_id=data["brief_id"],
            title_zh=data["title_zh"],
            path=Path(data["path"]),
            sha256=data["sha256"],
            warnings=tuple(data["warnings"]),
            headline_lines=tuple(HeadlineLine(*pair) for pair in data["headline_lines"]),
            demo_notice=data["demo_notice"],
            data_snapshot_sha256=data["data_snapshot_sha256"],
            template_version=data["template_version"],
        )


def _allow_in_xcom() -> None:
    from airflow.sdk.serde import allow_class

    allow_class(RenderedForDelivery)


_allow_in_xcom()
