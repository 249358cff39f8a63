"""The dbt CLI outside Cosmos, one way for every caller.

The history bootstrap (`dbt build --full-refresh`) and the manifest build (`dbt parse`) run
dbt as a subprocess of this environment: the warehouse comes in env vars (never written to disk), usage stats are
off, and logs and target go to a scratch folder unless the caller means to write one (the
manifest Cosmos reads lives in dbt_project/target).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from strategy_briefs.config import venv_executable


class DbtFailed(RuntimeError):
    """dbt exited non-zero; the message ends with the last lines it printed."""


def run_dbt(
    project_dir: Path,
    *args: str,
    env: Mapping[str, str],
    target_path: Path | None = None,
    echo: bool = False,
) -> None:
    """Run `dbt <args>` on `project_dir` with `env` added to this process's environment;
    `echo` writes what dbt printed to this process's stdout (a log) when it succeeds too."""
    dbt = venv_executable("dbt")
    with tempfile.TemporaryDirectory(prefix="dbt-") as scratch:
        result = subprocess.run(
            [
                str(dbt),
                *args,
                "--project-dir",
                str(project_dir),
                "--profiles-dir",
                str(project_dir),
                "--target-path",
                str(target_path or scratch),
                "--log-path",
                scratch,
            ],
            env={**os.environ, **env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"},
            capture_output=True,
            text=True,
        )
    if echo:
        sys.stdout.write(result.stdout + result.stderr)
        sys.stdout.flush()
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DbtFailed(f"dbt {' '.join(args)} failed:\n{tail}")
