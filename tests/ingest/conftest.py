"""Fixtures for the ingest tests: the catalogue, and test months kept apart from the demo.

Tests that write to the warehouse use periods in 2031+ and remove what they wrote, so
other parts' tests in the same session never see their rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strategy_briefs.catalogue import Catalogue, load_catalogue
from strategy_briefs.config import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
SAMPLE = PROJECT_ROOT / "data" / "incoming"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(PROJECT_ROOT / "dbt_project" / "seeds")


@pytest.fixture
def test_months(warehouse_params) -> Iterator[None]:
    """Delete every raw row of the test periods (2031+) after the test."""
    yield
    from strategy_briefs import warehouse

    with warehouse.connect(warehouse_params) as conn:
        conn.execute("delete from raw.staged_loads where period >= '2031-01-01'")
        conn.execute("delete from raw.lob_figures where period >= '2031-01-01'")
        conn.execute("delete from raw.lob_highlights where period >= '2031-01-01'")
        conn.execute("delete from raw.load_audit where period >= '2031-01-01'")


def _copy_sample_month(source_period: str, target_dir: Path, target_period: str) -> Path:
    folder = target_dir / target_period
    folder.mkdir(parents=True)
    for path in sorted((SAMPLE / source_period).glob("*.csv")):
        text = path.read_text(encoding="utf-8")
        text = text.replace(f"\n{source_period},", f"\n{target_period},")
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def copy_sample_month():
    """(source_period, target_dir, target_period) -> folder: the bundled sample month,
    re-dated to `target_period` (folder and period column)."""
    return _copy_sample_month


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
