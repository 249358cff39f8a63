"""The warehouse's least-privilege login roles, and connection parameters for each.

`migrations/repeatable/roles.sql` creates the roles and `grants.sql` their grants, on every
migrate (docs/security.md); neither holds a password. Passwords come from the environment at deploy time
(`WAREHOUSE_LOADER_PASSWORD`, `WAREHOUSE_TRANSFORMER_PASSWORD`, `WAREHOUSE_REPORTER_PASSWORD`)
and are set with `set_passwords`, hashed on the client (SCRAM) so the plain text never
reaches the server's statement log. With trust authentication (the local PostgreSQL, the
embedded server's unix socket) no password is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from strategy_briefs.warehouse import WarehouseParams

LOADER = "sb_loader"
"""Ingest: writes its staging area (raw.staged_loads, raw.staged_figures), raw.lob_figures,
raw.lob_highlights and raw.load_audit, nothing else."""
TRANSFORMER = "sb_transformer"
"""dbt: reads raw, owns staging / intermediate / marts / seeds, writes audit.dbt_node_results."""
REPORTER = "sb_reporter"
"""Rendering, quality gate, delivery: reads the marts, writes only delivery.ledger."""

ROLES = (LOADER, TRANSFORMER, REPORTER)

PASSWORD_ENV = {
    LOADER: "WAREHOUSE_LOADER_PASSWORD",
    TRANSFORMER: "WAREHOUSE_TRANSFORMER_PASSWORD",
    REPORTER: "WAREHOUSE_REPORTER_PASSWORD",
}
"""The env var holding each role's password (unset or empty: no password, trust auth)."""

CONN_IDS = {
    LOADER: "warehouse_loader",
    TRANSFORMER: "warehouse_transformer",
    REPORTER: "warehouse_reporter",
}
"""Suggested Airflow connection id per role; `warehouse` stays the owner, for migrations."""


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown warehouse role {role!r}; expected one of {', '.join(ROLES)}")


def role_params(admin: WarehouseParams, role: str, password: str | None = None) -> WarehouseParams:
    """The same server and database as `admin`, logging in as `role`."""
    _check_role(role)
    return replace(admin, user=role, password=password or "")


def passwords_from(environ: Mapping[str, str]) -> dict[str, str | None]:
    """Each role's password from `environ` (pass `os.environ`); None when unset or empty."""
    return {role: environ.get(name) or None for role, name in PASSWORD_ENV.items()}


def all_role_params(
    admin: WarehouseParams, passwords: Mapping[str, str | None]
) -> dict[str, WarehouseParams]:
    """Connection parameters of every role, e.g. `all_role_params(admin, passwords_from(env))`."""
    return {role: role_params(admin, role, passwords.get(role)) for role in ROLES}


def set_passwords(admin: WarehouseParams, passwords: Mapping[str, str | None]) -> list[str]:
    """Set the given roles' passwords (run as the owner after `warehouse.migrate`).

    Roles whose password is None are left alone. The password is hashed by libpq with the
    server's `password_encryption` (as psql's \\password does), so only the verifier is
    sent. Returns the roles changed.
    """
    from psycopg import sql

    from strategy_briefs import warehouse

    changed = []
    with warehouse.connect(admin, autocommit=True) as conn:
        algorithm = conn.execute("show password_encryption").fetchone()[0]
        for role, password in passwords.items():
            _check_role(role)
            if password is None:
                continue
            verifier = conn.pgconn.encrypt_password(
                password.encode(), role.encode(), algorithm.encode()
            ).decode()
            # ALTER ROLE takes no bind parameters: the verifier goes in as a quoted literal.
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(role), sql.Literal(verifier)
                )
            )
            changed.append(role)
    return changed
