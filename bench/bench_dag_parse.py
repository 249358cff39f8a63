"""Parsing the monthly DAG file against a bare `import airflow.sdk`.

Both run in a fresh interpreter, as the dag-processor does; the ratio shows what our DAG
file (Cosmos, the manifest, our package) adds on top of Airflow's own import.
"""

from __future__ import annotations

from bench.harness import ROOT, Result, median_seconds, run_python

REPEAT = 5
BASELINE = "import airflow.sdk"
CANDIDATE = (
    "from airflow.dag_processing.dagbag import DagBag;"
    "bag = DagBag(dag_folder='dags/strategy_briefs_monthly.py');"
    "assert not bag.import_errors, bag.import_errors"
)


def run() -> Result:
    run_python(BASELINE)  # warm the file-system cache for both
    baseline = median_seconds(lambda: run_python(BASELINE), REPEAT)
    candidate = median_seconds(lambda: run_python(CANDIDATE, cwd=ROOT), REPEAT)
    ratio = candidate / baseline
    return Result(
        name="DAG parse",
        candidate="DagBag of dags/strategy_briefs_monthly.py (fresh interpreter)",
        baseline="python -c 'import airflow.sdk'",
        candidate_value=candidate,
        baseline_value=baseline,
        unit="s",
        ratio=ratio,
        target="≤ 4× (informational)",
        passed=ratio <= 4.0,
        notes=f"median of {REPEAT} runs each.",
    )
