"""What the render stage hands on: one `RenderedBrief` per PDF, from the renderer to the
quality gate, the editor's approval and the send (`delivery.deliver`), unchanged.

Between Airflow tasks it travels as an XCom value. Airflow's serde (`airflow.sdk.serde`)
would serialise a plain dataclass with `dataclasses.asdict` and rebuild it with
`cls(**data)`: that refuses the `Path`s and turns each `HeadlineLine` into a dict, so the
class brings its own `serialize`/`deserialize`, which the serde prefers to the dataclass
route. Airflow rebuilds only allow-listed classes: `orchestration/handoff.py` registers it
(no Airflow import here, so the renderer and delivery run without Airflow).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from strategy_briefs.briefs.context import HeadlineLine

_PATHS = ("path", "trace_path")


@dataclass(frozen=True)
class RenderedBrief:
    """One rendered PDF: what the gate checks, the editor approves, the mail carries and the
    archive manifest records. Every field is set by `briefs.render.render_documents`."""

    __version__: ClassVar[int] = 1  # Airflow's serde stores it; bump when a field changes

    brief_id: str  # 'special_edition' or a lob_code
    title_zh: str  # the mail's subject and attachment name
    path: Path
    sha256: str  # of the PDF as rendered: what the editor approves
    page_count: int
    # WeasyPrint's, and highlights whose figures disagree with the facts (briefs/claims.py);
    # the quality gate holds the send on any
    warnings: tuple[str, ...]
    data_snapshot_sha256: str  # the rows it was rendered from (briefs/provenance.py)
    template_version: str  # the templates and wording config it was rendered with
    # the lead sentence of each article and the note explaining ＊, for the mail's body
    headline_lines: tuple[HeadlineLine, ...]
    demo_notice: str | None
    correction_note: str | None  # the 更正说明 it prints, on a re-issue
    trace_path: Path  # the claims file beside the PDF (briefs/trace.py), archived with it

    @property
    def is_correction(self) -> bool:
        return self.correction_note is not None

    def serialize(self) -> dict[str, Any]:
        """Plain values only (JSON, as the XCom table stores them)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update({name: str(getattr(self, name)) for name in _PATHS})
        data["warnings"] = list(self.warnings)
        data["headline_lines"] = [[h.lob_name_zh, h.sentence] for h in self.headline_lines]
        return data

    @classmethod
    def deserialize(cls, data: dict[str, Any], version: int) -> RenderedBrief:
        if version > cls.__version__:
            raise TypeError(f"RenderedBrief version {version} is newer than {cls.__version__}")
        return cls(
            **{
                **data,
                **{name: Path(data[name]) for name in _PATHS},
                "warnings": tuple(data["warnings"]),
                "headline_lines": tuple(HeadlineLine(*pair) for pair in data["headline_lines"]),
            }
        )
