"""Settings read from environment variables, in one place.

Every entry point (CLI, DAG tasks, tests, make targets) builds a `Settings` with
`Settings.from_env()`; nothing else reads `os.environ` for these names.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def venv_executable(name: str) -> Path:
    """A console script of the running environment (`dbt`, `airflow`, `strategy-briefs`).

    It stands beside the interpreter, so it is found whether or not the venv is on PATH
    (an Airflow worker, a test run, `make`), and never another installation's.
    """
    return Path(sys.executable).with_name(name)


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def _int(name: str, default: int, *, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _minutes(name: str, default: float, *, high: float = 20160.0) -> float:
    """A positive number of minutes, fractions allowed (a test waits seconds, not hours)."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of minutes, got {raw!r}") from None
    if not 0 < value <= high:
        raise ValueError(f"{name} must be more than 0 and at most {high:g}, got {raw}")
    return value


def _policy(raw: str | None) -> str:
    from strategy_briefs.delivery.approval import parse_policy

    return parse_policy(raw)


def _list(name: str) -> tuple[str, ...]:
    """A comma-separated list; each entry is checked where it is used."""
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Paths and endpoints for one run."""

    warehouse_url: str | None
    incoming_dir: Path
    output_dir: Path
    recipients_file: Path
    var_dir: Path
    schedule_day: int = 5
    schedule_hour: int = 6
    first_month: str = "2020-06"
    retry_delay_seconds: int = 30
    submission_wait_hours: int = 72
    delivery_deadline_days: int = 3
    ingest_timeout_minutes: int = 60  # one try of an ingest task (a 2M-row file: minutes)
    render_timeout_minutes: int = 30  # one try of rendering the month's PDFs
    # Maker-checker: 'required' (an editor decides in the Airflow UI) or 'auto' (demo, tests)
    approval_policy: str = "required"
    approval_editors: tuple[str, ...] = ()  # Airflow user ids who may approve or reject
    approval_wait_minutes: float = 1440.0  # pending longer: operators told once, nothing sent

    # The operators' list when the recipients file itself is broken (its first address
    # also sends): the notice saying so must not depend on the file it is about.
    fallback_operators: tuple[str, ...] = ()
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
            schedule_day=_int("STRATEGY_BRIEFS_SCHEDULE_DAY", 5, low=1, high=28),
            schedule_hour=_int("STRATEGY_BRIEFS_SCHEDULE_HOUR", 6, low=0, high=23),
            first_month=os.environ.get("STRATEGY_BRIEFS_FIRST_MONTH", "2020-06"),
            submission_wait_hours=_int(
                "STRATEGY_BRIEFS_SUBMISSION_WAIT_HOURS", 72, low=0, high=720
            ),
            delivery_deadline_days=_int(
                "STRATEGY_BRIEFS_DELIVERY_DEADLINE_DAYS", 3, low=1, high=27
            ),
            retry_delay_seconds=_int("STRATEGY_BRIEFS_RETRY_DELAY_SECONDS", 30, low=1, high=3600),
            ingest_timeout_minutes=_int(
                "STRATEGY_BRIEFS_INGEST_TIMEOUT_MINUTES", 60, low=1, high=1440
            ),
            render_timeout_minutes=_int(
                "STRATEGY_BRIEFS_RENDER_TIMEOUT_MINUTES", 30, low=1, high=1440
            ),
            approval_policy=_policy(os.environ.get("STRATEGY_BRIEFS_APPROVAL")),
            approval_editors=_list("STRATEGY_BRIEFS_EDITORS"),
            approval_wait_minutes=_minutes("STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES", 1440.0),
            fallback_operators=_list("STRATEGY_BRIEFS_FALLBACK_OPERATORS"),
        )

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_root / "dbt_project"

    @property
    def templates_dir(self) -> Path:
        return self.project_root / "templates"

    @property
    def mail_templates_dir(self) -> Path:
        return self.templates_dir / "mail"

    @property
    def airflow_home(self) -> Path:
        """`AIRFLOW_HOME` when the operator set one, else a project-local folder."""
        value = os.environ.get("AIRFLOW_HOME")
        return Path(value) if value else self.var_dir / "airflow"

    @property
    def mail_sink_dir(self) -> Path:
        return self.output_dir / "mail"

    @property
    def dbt_manifest_path(self) -> Path:
        return self.dbt_project_dir / "target" / "manifest.json"

    @property
    def dbt_docs_dir(self) -> Path:
        """The dbt docs site (index.html, manifest.json, catalog.json) Cosmos serves in the UI.

        The manifest's own folder: `dbt docs generate --no-compile` reads the manifest there.
        """
        return self.dbt_manifest_path.parent

    @property
    def seeds_dir(self) -> Path:
        return self.dbt_project_dir / "seeds"

    @property
    def briefs_config_file(self) -> Path:
        """The briefs' wording (headlines, editor's note, judgement thresholds)."""
        return self.project_root / "config" / "briefs.yaml"
