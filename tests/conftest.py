"""Shared fixtures: every test session gets its own warehouse database, dropped afterwards.

The server is `WAREHOUSE_URL` (CI: the machine's PostgreSQL 15) or the embedded one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from strategy_briefs import warehouse
from strategy_briefs.warehouse import WarehouseParams


@pytest.fixture(scope="session")
def warehouse_params() -> Iterator[WarehouseParams]:
    """A fresh, migrated database for this test session; `WAREHOUSE_URL` points at it."""
    import psycopg
    from psycopg import sql

    server = warehouse.resolve()
    dbname = f"sb_test_{uuid.uuid4().hex[:10]}"
    warehouse.create_database_if_missing(server, dbname)
    params = server.with_dbname(dbname)
    warehouse.migrate(params)
    previous = os.environ.get("WAREHOUSE_URL")
    os.environ["WAREHOUSE_URL"] = params.url()
    try:
        yield params
    finally:
        if previous is None:
            os.environ.pop("WAREHOUSE_URL", None)
        else:
            os.environ["WAREHOUSE_URL"] = previous
        with psycopg.connect(server.with_dbname("postgres").url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


@pytest.fixture
def db(warehouse_params: WarehouseParams):
    """A psycopg 3 connection to the session database."""
    with warehouse.connect(warehouse_params) as conn:
        yield conn
