"""Running the dbt project in-process (dbtRunner) for tests, with its own target and log dirs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.config import Settings

DBT_PROJECT_DIR = Settings.from_env().dbt_project_dir
# (period, command): January only needs its rows; the other two also run every test
BUILT_MONTHS = [("2020-01", "run"), ("2020-05", "build"), ("2020-06", "build")]


@dataclass
class DbtProject:
    target_dir: Path
    # A parsed project to run on (`parse()`): each invocation then skips dbt's parse, which a
    # change of `--vars` would otherwise redo in full every month.
    manifest: object | None = None

    def invoke(self, *args: str, period: str | None = None):
        """Run one dbt command; returns dbt's result object (`.success`, `.result`)."""
        from dbt.cli.main import dbtRunner

        from strategy_briefs.orchestration.dbt_in_process import keep_dbt_behavior_flags_fixed

        keep_dbt_behavior_flags_fixed()  # this process runs dbt many times
        return dbtRunner(manifest=self.manifest).invoke(self.argv(*args, period=period))

    def argv(self, *args: str, period: str | None = None, log_dir: str = "logs") -> list[str]:
        """dbt's arguments for one command on this project, its target and its log dir."""
        argv = [
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(self.target_dir / "target"),
            "--log-path",
            str(self.target_dir / log_dir),
        ]
        if period is not None:
            argv += ["--vars", json.dumps({"period": period})]
        return argv

    def parse(self) -> None:
        """Parse the project once; later invocations run on this manifest."""
        parsed = self.invoke("parse")
        assert parsed.success, parsed.exception
        self.manifest = parsed.result

    def build_month(self, period: str, command: str = "build"):
        return self.invoke(command, "--exclude", "resource_type:seed", period=period)


def failed_nodes(result) -> list[str]:
    return [r.node.name for r in result.result.results if str(r.status) in ("fail", "error")]
