"""Bootstrapping a warehouse with the months before the first one the DAG runs.

The demo's trend charts and 同比 need a year and more of history. Running the DAG once
per historical month would be the same code path but would render and mail briefs
nobody asked for; instead the history goes through the same loader and one full
`dbt build`, and the DAG then runs the demo months incrementally on top.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def load_history(settings: Settings, *, before: Period) -> int:
    """Load every bundled month before `before` and build the warehouse over all of them."""
    owner = warehouse.resolve(settings)
    warehouse.migrate(owner)
    passwords = roles.passwords_from(os.environ)
    loader = roles.role_params(owner, roles.LOADER, passwords[roles.LOADER])
    transformer = roles.role_params(owner, roles.TRANSFORMER, passwords[roles.TRANSFORMER])
    catalogue = load_catalogue(settings.seeds_dir)
    months = [m for m in submitted_months(settings.incoming_dir) if m < before]
    for month in months:
        load_month(loader, settings.incoming_dir, str(month), catalogue)
    if months:
        run_dbt(settings.dbt_project_dir, "build", "--full-refresh", env=transformer.dbt_env())
    return len(months)
