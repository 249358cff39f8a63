"""The warehouse stopped mid-run and started again (issue 17 point 7).

A private PostgreSQL (`private_postgres`), never the shared one. The ingest tasks run as
the DAG runs them (`orchestration.tasks`, over the Airflow connections), then the delivery:
each outage fails the step with one clear line, the month stays as it was, and the re-run
completes with every figure of the files and one message per recipient.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from airflow.sdk.exceptions import AirflowFailException
from delivery_helpers import ALL_RECIPIENTS

from strategy_briefs import roles, warehouse
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.delivery.mailbox import read_mailbox
from strategy_briefs.delivery.send import AirflowSmtpSender, deliver
from strategy_briefs.ingest import load_month
from strategy_briefs.orchestration import tasks
from strategy_briefs.orchestration.environment import WAREHOUSE_CONN_ID
from tests.helpers.kill_points import blocked_by, eventually
from tests.helpers.private_postgres import private_postgres

SAMPLE = PROJECT_ROOT / "data" / "incoming"
LINES = ["mobile_banking", "credit_card", "precious_metals", "private_banking"]  # article order
RUN = "outage-run"


def copy_month(source: str, root: Path, period: str) -> Path:
    folder = root / period
    folder.mkdir(parents=True)
    for path in sorted((SAMPLE / source).glob("*.csv")):
        text = path.read_text(encoding="utf-8").replace(f"\n{source},", f"\n{period},")
        (folder / path.name).write_text(text, encoding="utf-8")
    return root


def figures(params, period: str) -> list[tuple]:
    """The month's figures without the load they came from."""
    with warehouse.connect(params) as conn:
        return conn.execute(
            "select lob_code, kpi_code, entity_type, entity_code, value_submitted, value_base,"
            " note, source_file, source_row from raw.lob_figures where period = %s"
            " order by 1, 2, 3, 4",
            (f"{period}-01",),
        ).fetchall()


def month_state(params, period: str) -> tuple:
    with warehouse.connect(params) as conn:
        loads = conn.execute(
            "select array_agg(load_id order by load_id) from raw.load_audit"
            " where period = %s and status = 'loaded'",
            (f"{period}-01",),
        ).fetchone()
    return figures(params, period), loads


def staged(params) -> list[str]:
    with warehouse.connect(params) as conn:
        rows = conn.execute(
            "select lob_code from raw.staged_loads where run_key = %s order by 1", (RUN,)
        )
        return [row[0] for row in rows]


def send(params, period, briefs, recipients, tmp_path):
    with AirflowSmtpSender() as sender:
        return deliver(
            params, period, briefs, recipients, sender, archive_root=tmp_path / "archive"
        )


def publish_in_thread(period: str) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def publish() -> None:
        try:
            tasks.publish_month(period, LINES, RUN)
        except BaseException as error:  # handed to the test's thread
            raised.append(error)

    thread = threading.Thread(target=publish)
    thread.start()
    return thread, raised


def test_warehouse_stopped_mid_run_fails_clearly_and_the_rerun_loses_and_sends_nothing_twice(
    monkeypatch, tmp_path, period, briefs, recipients, sink, mailbox
):
    catalogue = load_catalogue(PROJECT_ROOT / "dbt_project" / "seeds")
    with private_postgres() as server:
        params = server.params
        warehouse.migrate(params)
        load_month(params, copy_month("2020-06", tmp_path / "old", period), period, catalogue)
        incoming = copy_month("2020-07", tmp_path / "new", period)
        monkeypatch.setenv(f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}", params.airflow_conn_json())
        loader = roles.role_params(params, roles.LOADER)
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{tasks.LOADER_CONN_ID.upper()}", loader.airflow_conn_json()
        )
        monkeypatch.setenv("STRATEGY_BRIEFS_INCOMING", str(incoming))
        before = month_state(params, period)
        stopped = f"the warehouse 127.0.0.1:{server.port}/postgres stopped answering while"

        # 1. Two lines staged, then the server stops: the third line's load fails, retryable.
        for lob in LINES[:2]:
            tasks.load_submission(period, lob, RUN)
        server.stop()
        with pytest.raises(tasks.WarehouseUnavailable) as raised:
            tasks.load_submission(period, LINES[2], RUN)
        assert not isinstance(raised.value, AirflowFailException)
        assert str(raised.value).startswith(f"{stopped} staging precious_metals for {period}: ")
        assert str(raised.value).endswith("was rolled back; it is retried")
        server.start()
        assert month_state(params, period) == before
        assert staged(params) == sorted(LINES[:2])

        # 2. The retried loads stage the rest; the server stops while the publish runs.
        for lob in LINES[2:]:
            tasks.load_submission(period, lob, RUN)
        holder = psycopg.connect(params.url())
        holder.execute(
            "select 1 from raw.lob_figures where period = %s and lob_code = 'precious_metals'"
            " limit 1 for update",
            (f"{period}-01",),
        )
        with warehouse.connect(params, autocommit=True) as admin:
            thread, errors = publish_in_thread(period)
            eventually(blocked_by(admin, holder.info.backend_pid), "the publish under way")
        server.stop()
        thread.join()
        holder.close()
        (error,) = errors
        assert isinstance(error, tasks.WarehouseUnavailable)
        assert str(error).startswith(f"{stopped} publishing {period}: ")
        server.start()
        assert month_state(params, period) == before
        assert staged(params) == sorted(LINES)

        # 3. The re-run publishes the month: exactly the rows an uninterrupted load keeps.
        published = tasks.publish_month(period, LINES, RUN)
        rerun = figures(params, period)
        assert rerun != before[0] and published == len(rerun)
        load_month(params, incoming, period, catalogue)
        assert figures(params, period) == rerun

        # 4. Delivery: refused while the server is down, sent once, never again.
        server.stop()
        with pytest.raises(psycopg.OperationalError):
            send(params, period, briefs, recipients, tmp_path)
        assert read_mailbox(mailbox) == []
        server.start()
        assert len(send(params, period, briefs, recipients, tmp_path).sent) == 3
        server.stop()
        server.start()
        assert send(params, period, briefs, recipients, tmp_path).sent == []
    assert Counter(m.delivered_to for m in read_mailbox(mailbox)) == Counter(ALL_RECIPIENTS)
