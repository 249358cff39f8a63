"""Helpers the tests share: imported as `tests.helpers.<module>` (pytest puts the project
root on the path: `pythonpath` in pyproject.toml), never by editing `sys.path`.

- `demo_facts`: the page's published figures as brief facts; `golden`, `stress_month`,
  `voice_checks`, `marts_contract`: the briefs tests' renders, stress month and checks.
- `kill_points`, `private_postgres`: faults at known points, a PostgreSQL of a test's own.
- `pdf_pages`: a rendered PDF's pages as text; `airflow_api`: a real Airflow api-server.
- `celery_stack`: the CeleryExecutor stack of tests/scaleout.
"""
