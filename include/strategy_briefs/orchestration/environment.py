"""The environment every Airflow process of this project runs with.

One function builds it, so the CLI, `make airflow`, the tests and the compose file agree.
Nothing here phones home: Cosmos, Airflow, dbt and OpenLineage usage reporting are off.
"""

from __future__ import annotations

import json
import os
import socket

from strategy_briefs import roles
from strategy_briefs.config import Settings
from strategy_briefs.warehouse import WarehouseParams

WAREHOUSE_CONN_ID = "warehouse"
SMTP_CONN_ID = "smtp_default"
DEFAULT_SINK_PORT = 8025
# Cosmos' dbt docs view: /cosmos/<slug>/dbt_docs_index.html, under Browse in the Airflow UI.
DBT_DOCS_SLUG = "strategy_briefs"

# Settings that keep every component inside the bank's network.
NO_TELEMETRY = {
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
    "AIRFLOW__OPENLINEAGE__DISABLED": "True",
    "DO_NOT_TRACK": "1",
    "SCARF_ANALYTICS": "false",
    "SCARF_NO_ANALYTICS": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
}


# Set per Celery worker process when several share one machine (tests/scaleout);
# `worker_hostname` puts it into every task instance's hostname.
WORKER_NAME_ENV = "STRATEGY_BRIEFS_CELERY_WORKER"


def worker_hostname() -> str:
    """`[core] hostname_callable` for Celery workers sharing a machine: `<fqdn>/<worker>`.

    Their machine's name is the same; the suffix tells them apart in the metadata database
    (which worker ran which task). Without `WORKER_NAME_ENV`, the machine's name, as
    Airflow's default callable gives it.
    """
    name = socket.getfqdn()
    worker = os.environ.get(WORKER_NAME_ENV)
    return f"{name}/{worker}" if worker else name


def local_smtp_connection(port: int = DEFAULT_SINK_PORT) -> str:
    """The demo's SMTP connection: the loopback sink, plain SMTP (it never leaves the machine)."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {
                "disable_tls": True,
                "disable_ssl": True,
                "from_email": "strategy-briefs@bank.example",
            },
        }
    )


def dbt_docs_projects(docs_dir: str) -> str:
    """Cosmos' `[cosmos] dbt_docs_projects`: the one dbt project whose docs the UI serves."""
    return json.dumps({DBT_DOCS_SLUG: {"dir": docs_dir}})


def airflow_environment(
    settings: Settings, warehouse: WarehouseParams, *, smtp_connection: str | None = None
) -> dict[str, str]:
    """Env vars for a local Airflow (standalone UI, `dags test`) running this project."""
    home = settings.airflow_home
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.project_root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        # A local, single-user metadata DB; compose uses PostgreSQL instead.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": os.environ.get(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}"
        ),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS": dbt_docs_projects(str(settings.dbt_docs_dir)),
        # The owner: migrations only. Each task connects as its least-privileged role.
        f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}": warehouse.airflow_conn_json(),
        "STRATEGY_BRIEFS_INCOMING": str(settings.incoming_dir),
        "STRATEGY_BRIEFS_OUTPUT": str(settings.output_dir),
        "STRATEGY_BRIEFS_RECIPIENTS": str(settings.recipients_file),
        "STRATEGY_BRIEFS_VAR": str(settings.var_dir),
        "STRATEGY_BRIEFS_APPROVAL": settings.approval_policy,
        # The local standalone UI signs in as admin: its editor unless others are configured.
        "STRATEGY_BRIEFS_EDITORS": ",".join(settings.approval_editors) or "admin",
        **NO_TELEMETRY,
    }
    passwords = roles.passwords_from(os.environ)
    for role, params in roles.all_role_params(warehouse, passwords).items():
        env[f"AIRFLOW_CONN_{roles.CONN_IDS[role].upper()}"] = params.airflow_conn_json()
    # dbt run by hand (or by the history bootstrap) runs as the transformer too.
    env.update(
        roles.role_params(warehouse, roles.TRANSFORMER, passwords[roles.TRANSFORMER]).dbt_env()
    )
    env[f"AIRFLOW_CONN_{SMTP_CONN_ID.upper()}"] = smtp_connection or local_smtp_connection()
    return env
