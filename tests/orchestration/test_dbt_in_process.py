"""dbt run several times in one process must not slow down run after run.

Each case runs in a fresh interpreter: the workaround patches dbt-adapters for the whole
process, so only a new process can show dbt's own behaviour beside ours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from strategy_briefs.config import PROJECT_ROOT

RUNS = r"""
import json, sys, tempfile
from dbt.adapters.base import impl
from dbt.cli.main import dbtRunner
if sys.argv[1] == "fixed":
    from strategy_briefs.orchestration.dbt_in_process import keep_dbt_behavior_flags_fixed
    keep_dbt_behavior_flags_fixed()
project = sys.argv[2]
sizes = []
scratch = tempfile.mkdtemp()  # one target: the second and third parse are partial (cheap)
for _ in range(3):
    result = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project,
                                 "--target-path", scratch, "--log-path", scratch])
    assert result.success, result.exception
    sizes.append(len(impl.DEFAULT_BASE_BEHAVIOR_FLAGS))
print(json.dumps(sizes))
"""


def _flag_list_sizes(mode: str, warehouse_params) -> list[int]:
    env = {
        **os.environ,
        **warehouse_params.dbt_env(),
        "PYTHONPATH": str(PROJECT_ROOT / "include"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    out = subprocess.run(
        [sys.executable, "-c", RUNS, mode, str(PROJECT_ROOT / "dbt_project")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_dbt_adapters_grows_its_flag_list_per_invocation_without_the_workaround(
    warehouse_params,
):
    # If this starts failing, dbt-adapters fixed it: delete orchestration/dbt_in_process.py.
    first, second, third = _flag_list_sizes("plain", warehouse_params)
    assert second == first + 1 and third == first + 2


def test_with_the_workaround_the_flag_list_stays_as_shipped(warehouse_params):
    sizes = _flag_list_sizes("fixed", warehouse_params)
    assert len(set(sizes)) == 1
