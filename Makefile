# The README's two commands are `make demo` and `make test`; the rest is for operators.
.PHONY: setup demo test lint format stop airflow bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/strategy-briefs demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

stop:
	@test -x .venv/bin/strategy-briefs && .venv/bin/strategy-briefs warehouse stop || true

airflow: setup
	@bash scripts/airflow-standalone.sh

bench: setup
	eval "$$(.venv/bin/strategy-briefs env)" && .venv/bin/python -m bench

clean: stop
	rm -rf var output dbt_project/target dbt_project/logs
