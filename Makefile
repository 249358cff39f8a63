# The README's two commands are `make demo` and `make test`; the rest is for operators.
.PHONY: setup demo test lint format stop airflow bench golden readme-picture readme-graph clean

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/strategy-briefs demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(SQLFLUFF_LINT)
	.venv/bin/pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(SQLFLUFF_LINT)

# sqlfluff (dbt_project/.sqlfluff) compiles every model through dbt, and dbt connects to the
# warehouse to list its relations (it reads no rows): the profile's env vars as dbt's own runs
# get them (WarehouseParams.dbt_env), from WAREHOUSE_URL or else the embedded warehouse.
DBT_PROFILE_ENV = .venv/bin/python -c 'import shlex; from strategy_briefs import warehouse; \
	print(*(f"export {k}={shlex.quote(v)};" for k, v in warehouse.resolve().dbt_env().items()))'
SQLFLUFF_LINT = eval "$$($(DBT_PROFILE_ENV))" && cd dbt_project && ../.venv/bin/sqlfluff lint

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
	$(SQLFLUFF_LINT:lint=fix)

stop:
	@test -x .venv/bin/strategy-briefs && .venv/bin/strategy-briefs warehouse stop || true

airflow: setup
	@bash scripts/airflow-standalone.sh

bench: setup
	eval "$$(.venv/bin/strategy-briefs env)" && .venv/bin/python -m bench

# Rewrites the reference pages of tests/briefs/test_brief_layout.py; look at them before committing.
golden: setup
	.venv/bin/python -m tests.helpers.golden

# The README's picture: page 1 of the demo's June edition, as `make demo` renders it.
readme-picture: demo
	mkdir -p docs/images
	pdftoppm -png -r 60 -f 1 -l 1 -singlefile output/2020-06/special-edition-2020-06.pdf \
		docs/images/special-edition-2020-06-page-1

# The README's other picture: the DAG's graph in the Airflow UI, as tests/ui screenshots it
# (headless Chromium signed in to a real api-server).
readme-graph: setup
	.venv/bin/pytest tests/ui -x -q
	mkdir -p docs/images
	cp "$${STRATEGY_BRIEFS_VAR:-var}/test-output/ui/strategy_briefs_monthly-graph.png" docs/images/

clean: stop
	rm -rf var output dbt_project/target dbt_project/logs
