"""A private database holding the marts the briefs read, with their dbt contracts' columns
(read from the manifest, never copied by hand), filled with given rows: the loaders and the
renderer run against real PostgreSQL without waiting for, or disturbing, a dbt run."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, fields

from strategy_briefs import warehouse
from strategy_briefs.briefs.facts import BriefFact, BriefHighlight, HistoryPoint
from strategy_briefs.config import Settings
from strategy_briefs.warehouse import WarehouseParams

# The marts the briefs read, as their enforced dbt contracts declare them.
CONTRACT_MARTS = ("brief_facts", "fct_kpi_values_monthly", "brief_highlights")


def contract_ddl() -> str:
    """`create table` for each mart the briefs read, from the contract in dbt's manifest.

    Column names and types only: the tests fill the columns the loaders read, so the
    contract's not-null and key constraints (kept by dbt's own tests) are left out.
    """
    manifest = json.loads(Settings.from_env().dbt_manifest_path.read_text(encoding="utf-8"))
    statements = ["create schema marts;"]
    for name in CONTRACT_MARTS:
        node = manifest["nodes"][f"model.strategy_briefs.{name}"]
        assert node["config"]["contract"]["enforced"], f"{name} has no enforced contract"
        columns = ", ".join(f"{c['name']} {c['data_type']}" for c in node["columns"].values())
        statements.append(f"create table marts.{name} ({columns});")
    return "\n".join(statements)


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
        conn.execute(contract_ddl())
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
