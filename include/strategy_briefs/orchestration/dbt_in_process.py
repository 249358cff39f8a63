"""dbt invoked in the task's process (Cosmos' DBT_RUNNER mode, the dbt test harness).

`before_dbt_in_process` is the dbt tasks' pre_execute hook: the two rules below.

1. `keep_dbt_behavior_flags_fixed`, a workaround:

dbt-adapters 1.24.5 starts every adapter with `self.behavior = DEFAULT_BASE_BEHAVIOR_FLAGS`,
and that setter `extend`s the module-level list it was given with the adapter's own flags:
the list grows by one entry per dbt invocation for the life of the process. Each entry
later costs an `inspect.stack()` (tens of milliseconds inside an Airflow task), so in a
process that runs dbt many times (`dag.test()`, `strategy-briefs run`, the test suite)
every dbt task was slower than the one before: 1.1 s -> 2.6 s for a seed over twelve
months. Executors start a process per task, so scheduled runs never grew. Handing the
setter a copy keeps the list as shipped. Remove when dbt-adapters stops mutating it.

2. What the task's process holds before dbt starts outlives the dbt invocation: frozen out
of the garbage collector (`long_lived.freeze`), so dbt's collections and the one Cosmos
runs after each invocation scan only what dbt made (0.6 s each in a month's run before).
"""

from __future__ import annotations

from typing import Any

from strategy_briefs import long_lived

_MARK = "_strategy_briefs_copies_flags"


def before_dbt_in_process(context: Any = None) -> None:
    """The dbt tasks' pre_execute hook: the module's rules 1 and 2."""
    keep_dbt_behavior_flags_fixed()
    long_lived.freeze()


def keep_dbt_behavior_flags_fixed(context: Any = None) -> None:
    """Make `BaseAdapter.behavior`'s setter work on a copy (idempotent; a pre_execute hook)."""
    from dbt.adapters.base.impl import BaseAdapter

    behavior = BaseAdapter.behavior
    if getattr(behavior.fset, _MARK, False):
        return
    original_setter = behavior.fset

    def copying_setter(self, flags: list) -> None:
        original_setter(self, list(flags))

    setattr(copying_setter, _MARK, True)
    BaseAdapter.behavior = property(behavior.fget, copying_setter, doc=behavior.__doc__)
