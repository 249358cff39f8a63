#!/usr/bin/env bash
# The Airflow UI on http://localhost:8080 for this project (api-server, scheduler,
# dag-processor, triggerer in one process tree). Login: user `admin`; Airflow's simple
# auth manager generates the password on first start and writes it to the file printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(.venv/bin/strategy-briefs env)"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=8080
echo "Airflow UI: http://localhost:8080  (user: admin; password in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated once started)"
exec .venv/bin/airflow standalone
