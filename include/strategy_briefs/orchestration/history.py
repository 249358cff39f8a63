"""Bootstrapping a warehouse with the months before the first one the DAG runs.

The demo's trend charts and 同比 need a year and more of history. Running the DAG once
per historical month would be the same code path but would render and mail briefs
nobody asked for; instead the history goes through the same loader and one full
`dbt build`, and the DAG then runs the demo months incrementally on top.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from strategy_briefs import roles, warehouse
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import Settings
from strategy_briefs.dbt_command import run_dbt
from strategy_briefs.ingest import load_month
from strategy_briefs.periods import Period, PeriodError


def submitted_months(incoming_dir: Path) -> list[Period]:
    months = []
    for folder in sorted(Path(incoming_dir).iterdir()):
        try:
            months.append(Period.parse(folder.name))
        except PeriodError:
            continue
    return months


class HistoryProgress(Protocol):
    """Told of each month loaded and of the build (`strategy_briefs.progress` shows them)."""

    def month_loaded(self, month: Period, done: int, total: int) -> None: ...

    def building(self, done: int, total: int) -> None: ...


def load_history(
    settings: Settings, *, before: Period, progress: HistoryProgress | None = None
) -> int:
    """Load every bundled month before `before` and build the warehouse over all of them."""
    owner = warehouse.resolve(settings)
    warehouse.migrate(owner)
    passwords = roles.passwords_from(os.environ)
    loader = roles.role_params(owner, roles.LOADER, passwords[roles.LOADER])
    transformer = roles.role_params(owner, roles.TRANSFORMER, passwords[roles.TRANSFORMER])
    catalogue = load_catalogue(settings.seeds_dir)
    months = [m for m in submitted_months(settings.incoming_dir) if m < before]
    for done, month in enumerate(months, start=1):
        load_month(loader, settings.incoming_dir, str(month), catalogue)
        if progress is not None:
            progress.month_loaded(month, done, len(months))
    if months:
        if progress is not None:
            progress.building(len(months), len(months))
        # echo: dbt's own lines reach the caller's log (the demo's var/logs/history-*.log)
        run_dbt(
            settings.dbt_project_dir,
            "build",
            "--full-refresh",
            env=transformer.dbt_env(),
            echo=True,
        )
    return len(months)
