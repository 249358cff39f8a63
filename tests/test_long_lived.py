"""The process's long-lived objects are kept out of the garbage collector's scans.

Each case runs in a fresh interpreter: freezing is for the whole process, and the test
process's own heap must not be frozen by the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from strategy_briefs.config import PROJECT_ROOT

SETTING_UP = r"""
import gc, json
from strategy_briefs import long_lived
frozen_before = gc.get_freeze_count()
with long_lived.setting_up():
    enabled_inside = gc.isenabled()
    built = [[i] for i in range(10_000)]  # tracked objects made while setting up
print(json.dumps({"enabled_inside": enabled_inside, "enabled_after": gc.isenabled(),
                  "frozen": gc.get_freeze_count() - frozen_before}))
"""

BEFORE_DBT = r"""
import gc, json
from strategy_briefs.orchestration.dbt_in_process import before_dbt_in_process
held = [[i] for i in range(10_000)]  # what the task's process holds before dbt starts
frozen_before = gc.get_freeze_count()
before_dbt_in_process()
from dbt.adapters.base.impl import BaseAdapter
print(json.dumps({"frozen": gc.get_freeze_count() - frozen_before,
                  "flags_copied": getattr(BaseAdapter.behavior.fset,
                                          "_strategy_briefs_copies_flags", False)}))
"""


def _run(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_setting_up_collects_nothing_then_freezes_what_it_built():
    seen = _run(SETTING_UP)
    assert seen["enabled_inside"] is False
    assert seen["enabled_after"] is True
    assert seen["frozen"] >= 10_000


def test_the_dbt_tasks_hook_freezes_what_the_process_holds_and_fixes_the_flag_list():
    seen = _run(BEFORE_DBT)
    assert seen["frozen"] >= 10_000
    assert seen["flags_copied"] is True
