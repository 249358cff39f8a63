"""Settings read from environment variables, in one place.

Every entry point (CLI, DAG tasks, tests, make targets) builds a `Settings` with
`Settings.from_env()`; nothing else reads `os.environ` for these names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Paths and endpoints for one run."""

    warehouse_url: str | None
    incoming_dir: Path
    output_dir: Path
    recipients_file: Path
    var_dir: Path
    project_root: Path = PROJECT_ROOT

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            warehouse_url=os.environ.get("WAREHOUSE_URL") or None,
            incoming_dir=_path("STRATEGY_BRIEFS_INCOMING", PROJECT_ROOT / "data" / "incoming"),
            output_dir=_path("STRATEGY_BRIEFS_OUTPUT", PROJECT_ROOT / "output"),
            recipients_file=_path(
                "STRATEGY_BRIEFS_RECIPIENTS", PROJECT_ROOT / "config" / "recipients.example.yaml"
            ),
            var_dir=_path("STRATEGY_BRIEFS_VAR", PROJECT_ROOT / "var"),
        )

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_root / "dbt_project"

    @property
    def templates_dir(self) -> Path:
        return self.project_root / "templates"

    @property
    def seeds_dir(self) -> Path:
        return self.dbt_project_dir / "seeds"
