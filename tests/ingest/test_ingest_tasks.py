"""The DAG's ingest tasks as plain functions (`orchestration.tasks`), over the Airflow
connections the DAG uses: what fails at once, what is retried, what a retry does.

No DAG run: the connections come from `AIRFLOW_CONN_*` as in a worker, and the functions
are called as the task bodies call them.
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from strategy_briefs import roles
from strategy_briefs.ingest import MonthNotStaged, SubmissionInvalid
from strategy_briefs.orchestration import tasks
from strategy_briefs.orchestration.environment import WAREHOUSE_CONN_ID
from tests.helpers.month_rows import month_rows

pytestmark = pytest.mark.usefixtures("test_months")
LINES = ["mobile_banking", "credit_card", "precious_metals", "private_banking"]  # article order


@pytest.fixture
def incoming(monkeypatch, warehouse_params, tmp_path):
    """A worker's environment: the owner and the loader connections, an incoming folder."""
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}", warehouse_params.airflow_conn_json()
    )
    loader = roles.role_params(warehouse_params, roles.LOADER)
    monkeypatch.setenv(f"AIRFLOW_CONN_{tasks.LOADER_CONN_ID.upper()}", loader.airflow_conn_json())
    monkeypatch.setenv("STRATEGY_BRIEFS_INCOMING", str(tmp_path))
    return tmp_path


def audit(db, period: str) -> list[tuple]:
    return month_rows(db, "raw.load_audit", "lob_code, status, problem_count, run_id", period)


def test_validate_month_fails_at_once_on_a_bad_file(incoming, db, copy_sample_month):
    """A bad file is bad on every retry: AirflowFailException (no retries), with every
    problem as FILE:ROW:COLUMN and a 'rejected' audit row of the run."""
    folder = copy_sample_month("2020-06", incoming, "2031-12")
    card = folder / "credit_card.csv"
    card.write_text(
        card.read_text(encoding="utf-8") + "2031-12,credit_card,cc_scenarios,branch:广东,-1,个,\n",
        encoding="utf-8",
    )
    with pytest.raises(AirflowFailException) as raised:
        tasks.validate_month("2031-12", "run-bad")
    problem = f"{card}:12:value: value -1 is negative: cc_scenarios is a count in 个"
    assert str(raised.value) == f"1 problem(s):\n{problem}"
    assert isinstance(raised.value.__cause__, SubmissionInvalid)
    assert audit(db, "2031-12") == [("credit_card", "rejected", 1, "run-bad")]


def test_validate_month_lists_the_lines_in_article_order(incoming, db, copy_sample_month):
    copy_sample_month("2020-06", incoming, "2031-11")
    assert tasks.validate_month("2031-11", "run-good") == LINES
    assert audit(db, "2031-11") == []  # validation loads nothing


def test_publish_needs_every_line_staged_by_its_run_and_a_retry_after_it_is_a_no_op(
    incoming, db, copy_sample_month
):
    copy_sample_month("2020-06", incoming, "2031-10")
    for lob in LINES[:3]:
        tasks.load_submission("2031-10", lob, "run-a")
    with pytest.raises(AirflowFailException, match="run-a has not staged private_banking") as e:
        tasks.publish_month("2031-10", LINES, "run-a")
    assert isinstance(e.value.__cause__, MonthNotStaged)
    assert audit(db, "2031-10") == []  # nothing of the month was published

    tasks.load_submission("2031-10", "private_banking", "run-a")
    published = tasks.publish_month("2031-10", LINES, "run-a")
    (rows,) = db.execute(
        "select count(*) from raw.lob_figures where period = '2031-10-01'"
    ).fetchone()
    assert published == rows > 40
    # A retry after a publish whose success the task never heard of changes nothing.
    assert tasks.publish_month("2031-10", LINES, "run-a") == 0
    assert [row[:2] for row in audit(db, "2031-10")] == [(lob, "loaded") for lob in LINES]
    # ... and another run that staged nothing cannot publish (or empty) the month.
    with pytest.raises(AirflowFailException, match="run-b has not staged mobile_banking"):
        tasks.publish_month("2031-10", LINES, "run-b")
