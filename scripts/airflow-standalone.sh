#!/usr/bin/env bash
# The Airflow UI on http://localhost:8080 for this project (api-server, scheduler,
# dag-processor, triggerer in one process tree), plus the loopback mail sink the demo
# delivers to (.eml files under output/mail). The dbt docs set-up generated are under
# Browse > dbt Docs (Cosmos' view; `strategy-briefs env` sets
# AIRFLOW__COSMOS__DBT_DOCS_PROJECTS). Login: user `admin`; Airflow's simple auth manager
# generates the password on first start and writes it to the file printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
# `airflow standalone` starts its components as `airflow ...`: the venv must be on PATH.
export PATH="$PWD/.venv/bin:$PATH"
eval "$(.venv/bin/strategy-briefs env)"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=8080
.venv/bin/python -m strategy_briefs_demo.sink --host 127.0.0.1 --port 8025 \
  --out "$STRATEGY_BRIEFS_OUTPUT/mail" >/dev/null &
trap 'kill $! 2>/dev/null || true' EXIT
echo "Airflow UI: http://localhost:8080  (user: admin; password in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated once started)"
echo "dbt docs: http://localhost:8080/cosmos/strategy_briefs/dbt_docs_index.html  (Browse > dbt Docs)"
echo "Mail sink: 127.0.0.1:8025 -> $STRATEGY_BRIEFS_OUTPUT/mail"
.venv/bin/airflow standalone
