# syntax=docker/dockerfile:1.7
# The one image every Airflow process of the compose stack runs (docker-compose.yml).
#
# Base: python:3.11-slim-bookworm + uv, not apache/airflow:3.3.2-python3.11. The official
# image already holds Airflow and dozens of providers pinned by Airflow's constraint files;
# installing uv.lock on top would fight those pins or duplicate them. Here the image holds
# exactly the environment uv.lock describes (the one set-up and CI test) and nothing else.
# Bookworm is the Debian release scripts/setup.sh targets, so the apt package names agree.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# Same uv as scripts/setup.sh (UV_VERSION), so the lock is read the same way.
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM ${PYTHON_IMAGE}

# WeasyPrint's Chinese text: Noto CJK fonts, HarfBuzz subsetting, Pango. poppler-utils gives
# pdftotext for checking a brief by hand; tini reaps Airflow's child processes.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      fonts-noto-cjk \
      libharfbuzz-subset0 \
      libpango-1.0-0 \
      libpangoft2-1.0-0 \
      poppler-utils \
      tini \
 && rm -rf /var/lib/apt/lists/*

COPY --from=uv /uv /usr/local/bin/uv

ENV PROJECT_DIR=/opt/strategy-briefs \
    AIRFLOW_HOME=/opt/airflow \
    UV_PROJECT_ENVIRONMENT=/opt/strategy-briefs/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PYTHONUNBUFFERED=1
WORKDIR /opt/strategy-briefs

# The locked dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# The product only: the demo (demo/, the sample generator and the loopback mail sink) is
# never copied, and the dev group that installs it is left out above (tests/deploy checks).
COPY include/ include/
COPY dags/ dags/
COPY dbt_project/ dbt_project/
COPY templates/ templates/
COPY config/ config/
COPY data/ data/

# The project itself, editable (uv's default): strategy_briefs.config finds the project root
# (dbt_project/, templates/, data/) two folders above its own file, so the package must stay
# in /opt/strategy-briefs/include rather than be copied into site-packages.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
 && .venv/bin/python -m compileall -q include dags

# The dbt manifest, built now so Cosmos reads it and never runs `dbt ls` while parsing the
# DAG, and the dbt docs the api-server serves beside it (Browse > dbt Docs; no warehouse
# at build time, so an empty catalog). Neither opens a connection; the warehouse values
# are placeholders.
RUN WAREHOUSE_HOST=placeholder WAREHOUSE_PORT=5432 WAREHOUSE_USER=placeholder \
    WAREHOUSE_DBNAME=placeholder DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    .venv/bin/dbt parse --project-dir dbt_project --profiles-dir dbt_project --quiet \
 && .venv/bin/dbt docs generate --no-compile --empty-catalog --project-dir dbt_project \
      --profiles-dir dbt_project --quiet \
 && test -s dbt_project/target/manifest.json \
 && test -s dbt_project/target/index.html \
 && rm -rf dbt_project/logs

# Nothing phones home, even when the image runs outside the compose file
# (strategy_briefs.orchestration.environment.NO_TELEMETRY; tests/deploy checks they agree).
ENV AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False \
    AIRFLOW__OPENLINEAGE__DISABLED=True \
    DO_NOT_TRACK=1 \
    SCARF_ANALYTICS=false \
    SCARF_NO_ANALYTICS=true \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/strategy-briefs/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    PATH=/opt/strategy-briefs/.venv/bin:$PATH

# Non-root, uid 50000 / gid 0 like the official Airflow image. The code stays root-owned and
# read-only to it; only Airflow's home (logs, auth) and the output folder are writable. Named
# volumes mounted on these folders start with this ownership.
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --shell /bin/bash airflow \
 && mkdir -p /opt/airflow/logs /opt/airflow/auth /opt/strategy-briefs/output \
 && chown -R airflow:0 /opt/airflow /opt/strategy-briefs/output \
 && chmod -R g=u /opt/airflow /opt/strategy-briefs/output
USER airflow

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
