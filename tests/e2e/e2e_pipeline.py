"""Helpers for the tests that run the real DAG: a scratch warehouse and copy of the inbox."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from strategy_briefs import warehouse
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams


@contextlib.contextmanager
def pipeline_env(params: WarehouseParams, root: Path, **extra: str) -> Iterator[Path]:
    """Point the pipeline at `params` and a private copy of the sample inbox under `root`.

    Yields the inbox (tests may edit its files); the process environment is restored after.
    """
    incoming = root / "incoming"
    shutil.copytree(PROJECT_ROOT / "data" / "incoming", incoming)
    saved = dict(os.environ)
    os.environ.update(
        {
            "WAREHOUSE_URL": params.url(),
            "STRATEGY_BRIEFS_INCOMING": str(incoming),
            "STRATEGY_BRIEFS_OUTPUT": str(root / "output"),
            **extra,
        }
    )
    try:
        yield incoming
    finally:
        os.environ.clear()
        os.environ.update(saved)


OUTBOUND_ATTEMPTS: list[str] = []
_GUARD = {"on": False}


def _refuse_non_loopback(event: str, args: tuple) -> None:
    """Audit hook: while the guard is on, any socket.connect off this machine fails."""
    if not _GUARD["on"] or event != "socket.connect":
        return
    sock, address = args[0], args[1]
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else str(address)
    if host in ("127.0.0.1", "::1", "localhost") or host.startswith("127."):
        return
    OUTBOUND_ATTEMPTS.append(f"{host}:{address[1] if isinstance(address, tuple) else ''}")
    raise ConnectionRefusedError(f"outbound connection to {host} refused by the test")


sys.addaudithook(_refuse_non_loopback)


@contextlib.contextmanager
def refusing_outbound_connections() -> Iterator[list[str]]:
    """While inside, this process may connect to loopback only; yields the refused attempts."""
    _GUARD["on"] = True
    try:
        yield OUTBOUND_ATTEMPTS
    finally:
        _GUARD["on"] = False


def pdf_text(path: Path) -> str:
    """The PDF's text in one line: pdftotext -raw reads the columns in order but breaks
    their lines mid-sentence."""
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True)
    return "".join(out.stdout.decode("utf-8").split())


def approvals(period: Period) -> list[tuple]:
    """delivery.approvals of `period`, oldest first: (id, policy, decision, by, comment)."""
    with warehouse.connect(warehouse.parse_url(os.environ["WAREHOUSE_URL"])) as conn:
        return conn.execute(
            "select approval_id, policy, decision, decided_by, comment from delivery.approvals"
            " where period = %s order by approval_id",
            (period.first_day,),
        ).fetchall()
