"""Helpers for the tests that run the real DAG: a scratch warehouse and copy of the inbox."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from strategy_briefs.config import PROJECT_ROOT
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
