"""A private database holding the marts the briefs read, with the contract's columns
(docs/architecture.md), filled with given rows: the loaders and the renderer run against
real PostgreSQL without waiting for, or disturbing, a dbt run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, fields

from strategy_briefs import warehouse
from strategy_briefs.briefs.facts import BriefFact, BriefHighlight, HistoryPoint
from strategy_briefs.warehouse import WarehouseParams

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
  change_decimals int, kpi_short_name_zh text, higher_is_better boolean, theme text,
  change_since_year_start_base numeric, change_round_step numeric, rise_streak_months int,
  streak_uses_demo_data boolean, history_years int, record_years int,
  record_uses_demo_data boolean, is_rank_expected boolean, lob_expected_rank_count int,
  branch_name text, branch_rank int, branch_count int, branch_increase_rank int,
  branch_rank_uses_demo_data boolean,
  since_month int, change_since_month_base numeric, since_month_uses_demo_data boolean);
create table marts.fct_kpi_values_monthly (
  period date, lob_code text, kpi_code text, entity_type text, entity_code text,
  value_base numeric, qualifier text, prior_month_value numeric, prior_year_value numeric,
  mom_change numeric, yoy_change numeric, change_unit text, is_demo_data boolean,
  primary key (period, kpi_code, entity_type, entity_code));
create table marts.brief_highlights (
  brief_highlight_key text primary key, period date, lob_code text, item_no int, opener text,
  body text, source_file text, source_row int);
"""


@contextmanager
def contract_marts(
    facts: Sequence[BriefFact],
    history: Sequence[HistoryPoint],
    highlights: Sequence[BriefHighlight],
) -> Iterator[WarehouseParams]:
    """A fresh database with these rows in the marts; dropped afterwards."""
    import psycopg
    from psycopg import sql

    server = warehouse.resolve()
    dbname = f"sb_briefs_{uuid.uuid4().hex[:10]}"
    warehouse.create_database_if_missing(server, dbname)
    params = server.with_dbname(dbname)
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
                [astuple(p) for p in history],
            )
            cur.executemany(
                "insert into marts.brief_highlights (brief_highlight_key, period, lob_code,"
                " item_no, opener, body) values (%s, %s, %s, %s, %s, %s)",
                [(f"{h.period:%Y-%m}|{h.lob_code}|{h.item_no}", *astuple(h)) for h in highlights],
            )
    try:
        yield params
    finally:
        with psycopg.connect(server.with_dbname("postgres").url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )
