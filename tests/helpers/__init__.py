"""Helpers the tests share: imported as `tests.helpers.<module>` (pytest puts the project
root on the path: `pythonpath` in pyproject.toml), never by editing `sys.path`.

- `demo_facts`: the page's published figures as brief facts; `made_up_branches`: the
  branches the page does not publish, shared with tests/dbt's raw rows; `golden`,
  `stress_month`, `voice_checks`, `marts_contract`: the briefs tests' renders, stress month
  and checks; `month_rows`: a month's rows of a warehouse table, for comparing.
- `kill_points`, `private_postgres`: faults at known points, a PostgreSQL of a test's own.
- `pdf_pages`: a rendered PDF's pages as text; `airflow_api`: a real Airflow api-server.
- `celery_stack`: the CeleryExecutor stack of tests/scaleout.
"""
