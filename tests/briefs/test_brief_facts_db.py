"""The loaders against real PostgreSQL: marts.brief_facts and marts.fct_kpi_values_monthly.

The marts are dbt's; here a private database holds tables with the contract's columns
(docs/architecture.md), so this test neither waits for nor disturbs the dbt run.
"""

import subprocess
import uuid
from dataclasses import astuple, fields

import pytest
from demo_facts import MONTH, PERIOD, demo_facts, demo_highlights, demo_history

from strategy_briefs import warehouse
from strategy_briefs.briefs.facts import BriefFact, load_brief_facts, load_kpi_history
from strategy_briefs.briefs.render import render_month

CONTRACT_DDL = """
create schema marts;
create table marts.brief_facts (
  brief_fact_key text primary key, period date, lob_code text, kpi_code text,
  kpi_name_zh text, kind text, base_unit text, display_order int, is_headline boolean,
  is_ytd boolean, value_base numeric, value_submitted text, unit_submitted text, qualifier text,
  mom_change numeric, yoy_change numeric, change_unit text,
  peer_rank int, peer_rank_source text, peer_count int,
  runner_up_bank_code text, runner_up_short_name text, lead_over_runner_up numeric,
  is_demo_data boolean, mom_uses_demo_data boolean, yoy_uses_demo_data boolean,
  change_decimals int, kpi_short_name_zh text);
create table marts.fct_kpi_values_monthly (
  period date, lob_code text, kpi_code text, entity_type text, entity_code text,
  value_base numeric, qualifier text, prior_month_value numeric, prior_year_value numeric,
  mom_change numeric, yoy_change numeric, change_unit text, is_demo_data boolean,
  primary key (period, kpi_code, entity_type, entity_code));
create table marts.brief_highlights (
  brief_highlight_key text primary key, period date, lob_code text, item_no int, opener text,
  body text, source_file text, source_row int);
"""


@pytest.fixture(scope="module")
def marts_db():
    import psycopg
    from psycopg import sql

    server = warehouse.resolve()
    dbname = f"sb_briefs_{uuid.uuid4().hex[:10]}"
    warehouse.create_database_if_missing(server, dbname)
    params = server.with_dbname(dbname)
    facts = demo_facts()
    history = demo_history(facts)
    # one month before the 24-month window, which the history loader must leave out
    old = history[0].__class__(
        MONTH.replace(year=2018), "mobile_banking", "mb_customers", "bank", "icbc", 1, None, True
    )
    columns = [f.name for f in fields(BriefFact)]
    with warehouse.connect(params) as conn:
        conn.execute(CONTRACT_DDL)
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL("insert into marts.brief_facts ({}) values ({})").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                ),
                [astuple(f) for f in facts],
            )
            cur.executemany(
                "insert into marts.fct_kpi_values_monthly (period, lob_code, kpi_code, entity_type,"
                " entity_code, value_base, qualifier, is_demo_data) values (%s,%s,%s,%s,%s,%s,%s,%s)",
                [astuple(p) for p in [*history, old]],
            )
            cur.executemany(
                "insert into marts.brief_highlights (brief_highlight_key, period, lob_code,"
                " item_no, opener, body) values (%s, %s, %s, %s, %s, %s)",
                [
                    (f"{h.period:%Y-%m}|{h.lob_code}|{h.item_no}", *astuple(h))
                    for h in demo_highlights()
                ],
            )
    try:
        yield params, facts, history
    finally:
        with psycopg.connect(server.with_dbname("postgres").url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


def test_load_brief_facts_round_trips_the_contract(marts_db):
    params, facts, _ = marts_db
    loaded = load_brief_facts(params, PERIOD)
    key = lambda f: f.brief_fact_key  # noqa: E731
    assert sorted(loaded, key=key) == sorted(facts, key=key)
    assert load_brief_facts(params, "2020-05") == []


def test_load_kpi_history_takes_the_window_ending_with_the_period(marts_db):
    params, _, history = marts_db
    loaded = load_kpi_history(params, PERIOD, months=24)
    assert len(loaded) == len(history)
    assert min(p.period for p in loaded).isoformat() == "2018-07-01"
    assert len(load_kpi_history(params, PERIOD, months=12)) < len(loaded)
    with pytest.raises(ValueError):
        load_kpi_history(params, "2020-6")


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
