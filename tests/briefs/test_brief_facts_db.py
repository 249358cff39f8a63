"""The loaders against real PostgreSQL: marts.brief_facts and marts.fct_kpi_values_monthly.

The marts are dbt's; here a private database holds tables with the contract's columns
(docs/architecture.md), so this test neither waits for nor disturbs the dbt run.
"""

import subprocess

import pytest

from strategy_briefs import warehouse
from strategy_briefs.briefs import render
from strategy_briefs.briefs.charts import ChartCache
from strategy_briefs.briefs.facts import load_brief_facts, load_kpi_history
from strategy_briefs.briefs.render import render_month
from tests.helpers.demo_facts import MONTH, PERIOD, demo_facts, demo_highlights, demo_history
from tests.helpers.marts_contract import contract_marts


@pytest.fixture(scope="module")
def marts_db():
    facts = demo_facts()
    history = demo_history(facts)
    # one month before the 24-month window, which the history loader must leave out
    old = history[0].__class__(
        MONTH.replace(year=2018), "mobile_banking", "mb_customers", "bank", "icbc", 1, None, True
    )
    with contract_marts(facts, [*history, old], demo_highlights()) as params:
        yield params, facts, history


def test_load_brief_facts_round_trips_the_contract(marts_db):
    params, facts, _ = marts_db
    loaded = load_brief_facts(params, PERIOD)
    key = lambda f: f.brief_fact_key  # noqa: E731
    assert sorted(loaded, key=key) == sorted(facts, key=key)
    assert load_brief_facts(params, PERIOD.shift(-1)) == []


def test_load_kpi_history_takes_the_window_ending_with_the_period(marts_db):
    params, _, history = marts_db
    loaded = load_kpi_history(params, PERIOD, months=24)
    assert len(loaded) == len(history)
    assert min(p.period for p in loaded).isoformat() == "2018-07-01"
    assert len(load_kpi_history(params, PERIOD, months=12)) < len(loaded)
    with pytest.raises(ValueError, match="between 1 and 120"):
        load_kpi_history(params, PERIOD, months=0)


def test_render_month_reads_the_marts(marts_db, tmp_path):
    params, _, _ = marts_db
    with warehouse.connect(params) as conn:  # keep this render to one line of business
        conn.execute("delete from marts.brief_facts where lob_code <> 'mobile_banking'")
    rendered = render_month(params, PERIOD, tmp_path)
    assert [r.brief_id for r in rendered] == ["special_edition", "mobile_banking"]
    assert rendered[1].path == tmp_path / "2020-06" / "mobile_banking-2020-06.pdf"
    text = subprocess.run(
        ["pdftotext", "-raw", str(rendered[0].path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.replace("\n", "")
    assert "369.0亿笔" in text and "1762万户" in text
    assert "一是县域服务下沉，补齐普惠短板。" in text.replace(" ", "")  # from brief_highlights
    assert all(r.warnings == () for r in rendered)


def test_render_month_starts_the_chart_drawing_before_it_reads_the_marts(
    marts_db, tmp_path, monkeypatch
):
    """The drawing process's start and imports overlap the reading of the marts; the charts
    it draws are the ones printed (the cache holds the line's two, a re-render reads them);
    a render into a folder that holds the month's edition (a retry) starts none ahead."""
    params, _, _ = marts_db
    with warehouse.connect(params) as conn:
        conn.execute("delete from marts.brief_facts where lob_code <> 'mobile_banking'")
    drawings: list[render._ChartDrawing] = []
    started_when_read: list[int] = []  # drawings started by then
    start, read_facts = render._ChartDrawing.start, render.load_brief_facts

    def start_recorded(drawing):
        if drawing.child is None:
            drawings.append(drawing)
        start(drawing)

    def facts_read(*arguments):
        started_when_read.append(len(drawings))
        return read_facts(*arguments)

    monkeypatch.setattr(render._ChartDrawing, "start", start_recorded)
    monkeypatch.setattr(render, "load_brief_facts", facts_read)
    cache = ChartCache(tmp_path / "charts")
    first = render_month(params, PERIOD, tmp_path / "first", chart_cache=cache)
    assert started_when_read == [1]
    assert len(list(cache.directory.glob("*.json"))) == 2
    again = render_month(params, PERIOD, tmp_path / "again", chart_cache=cache)
    assert [r.sha256 for r in again] == [r.sha256 for r in first]
    # a re-render into a folder that holds the month's edition starts no child ahead
    render_month(params, PERIOD, tmp_path / "first", chart_cache=cache)
    assert started_when_read == [1, 2, 2]
