#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs, idempotent: system packages for
# WeasyPrint's Chinese text (and headless Chromium + chromedriver for the UI test,
# tests/ui), uv, the locked virtual environment, the dbt manifest and docs.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the project needs at run time (the image installs the same, tests/deploy checks it) ...
SYSTEM_PACKAGES=(fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils)
# ... and what only the tests need: headless Chromium and its driver for tests/ui.
TEST_PACKAGES=(chromium chromium-driver)
UV_VERSION=0.13.9

python3 - <<'PY' || { echo "setup: Python 3.11 or newer is required (python3 --version)" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=() missing_runtime=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do installed "$pkg" || missing_runtime+=("$pkg"); done
missing=("${missing_runtime[@]}")
for pkg in "${TEST_PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif ((${#missing_runtime[@]})); then
    echo "setup: missing system packages; run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  else
    # Only the UI test needs these; it skips (and says why) without them.
    echo "setup: tests/ui will skip; to run it:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  fi
fi

if ! command -v uv >/dev/null 2>&1 || [[ "$(uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]]; then
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" \
    || python3 -m pip install --quiet --user --disable-pip-version-check "uv==$UV_VERSION"
  export PATH="$HOME/.local/bin:$PATH"
fi

# Bytecode compiled once here, as the image does (UV_COMPILE_BYTECODE): where the environment
# sets PYTHONDONTWRITEBYTECODE (this workplace's machines do), no process ever caches it, and
# every run, task and test compiled Airflow's, dbt's and WeasyPrint's sources again (~3,600
# modules, seconds a process). uv compiles only what it has not yet compiled.
uv sync --frozen --quiet --compile-bytecode
.venv/bin/strategy-briefs build-manifest >/dev/null
# The dbt docs the Airflow UI serves (Browse > dbt Docs), when missing or older than a dbt
# file: with the warehouse's catalog when WAREHOUSE_URL names one, else (or when it does
# not answer) from the manifest alone. `strategy-briefs build-docs` refreshes them.
docs=dbt_project/target/index.html
if [[ ! -f $docs ]] || [[ -n "$(find dbt_project -path dbt_project/target -prune -o -newer "$docs" \
  \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print -quit)" ]]; then
  if [[ -z "${WAREHOUSE_URL:-}" ]] || ! why=$(.venv/bin/strategy-briefs build-docs 2>&1 >/dev/null); then
    [[ -z "${WAREHOUSE_URL:-}" ]] || echo "setup: dbt docs without the warehouse's catalog" \
      "(${why##*error: })" >&2
    .venv/bin/strategy-briefs build-docs --empty-catalog >/dev/null
  fi
fi
echo "setup: ready (.venv, dbt manifest and docs)" >&2
