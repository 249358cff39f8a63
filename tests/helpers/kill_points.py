"""Stopping a real process at a known point, for the fault tests (issue 17).

The test holds an ordinary lock on the row or table the process is about to write; the
process's server backend waits for it. The test then SIGKILLs the process, releases the
lock and waits for the backend to notice its client is gone and roll back. Nothing in
the product waits for a test.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
WAIT_SECONDS = 180  # a bound on every wait below (a loaded machine), never an assertion


def eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll until `probe` returns something truthy, and return it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"never saw {what}")


def blocked_by(conn, holder_pid: int) -> Callable[[], list[tuple[int, str]] | None]:
    """A probe: the server processes waiting for a lock `holder_pid` holds, with their
    statement (`conn` in autocommit)."""

    def probe() -> list[tuple[int, str]] | None:
        rows = conn.execute(
            "select pid, query from pg_stat_activity where %s = any(pg_blocking_pids(pid))",
            (holder_pid,),
        ).fetchall()
        return rows or None

    return probe


def sigkill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def ended(conn, pids: list[int]) -> None:
    """Wait until the killed client's server processes have rolled back and exited."""

    def gone() -> bool:
        return (
            conn.execute("select 1 from pg_stat_activity where pid = any(%s)", (pids,)).fetchone()
            is None
        )

    eventually(gone, f"server processes {pids} end")
