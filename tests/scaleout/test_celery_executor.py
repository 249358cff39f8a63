"""The monthly DAG, unchanged, runs one month end to end on the CeleryExecutor.

What runs: a PostgreSQL metadata database of this test's own, `airflow db migrate`, an
api-server (execution API) on a free loopback port, a dag-processor, a scheduler, a
triggerer and two Celery workers (concurrency 1 each) on the machine's Redis; then
`airflow backfill create` for 2020-06's data interval: the scheduler makes the run and the
CeleryExecutor sends every task through Redis to the workers. The warehouse is a database
of the test's own with the sample history loaded before the month; mail goes to the
loopback SMTP sink. docs/scale-out.md maps each piece to the compose `celery` profile.

Skips (with the reason) only when no Redis answers on 127.0.0.1:6379.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import uuid
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from strategy_briefs import warehouse
from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import Settings
from strategy_briefs.delivery.mailbox import read_mailbox
from strategy_briefs.delivery.recipients import load_recipients
from strategy_briefs.orchestration.environment import (
    WORKER_NAME_ENV,
    airflow_environment,
)
from strategy_briefs.orchestration.history import load_history
from strategy_briefs.periods import BANK_TIMEZONE, Period
from strategy_briefs_demo.sink import free_port, run_sink
from tests.helpers.celery_stack import (
    HOSTNAME_CALLABLE,
    CeleryStack,
    CeleryStackConfig,
    celery_environment,
    redis_reachable,
)

DAG_ID = "strategy_briefs_monthly"
PERIOD = Period.parse("2020-06")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# This test's own Redis database number: emptied before and after the run.
REDIS_DB = 13
WORKERS = ("worker-1", "worker-2")


@pytest.fixture
def redis_broker() -> str:
    reason = redis_reachable(REDIS_HOST, REDIS_PORT)
    if reason:
        pytest.skip(f"CeleryExecutor test needs a Redis broker: {reason}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"


@pytest.fixture
def metadata_db(warehouse_params: warehouse.WarehouseParams):
    """A fresh PostgreSQL database for Airflow's metadata (CeleryExecutor cannot use SQLite)."""
    dbname = f"sb_airflow_{uuid.uuid4().hex[:10]}"
    warehouse.create_database_if_missing(warehouse_params, dbname)
    try:
        yield warehouse_params.with_dbname(dbname)
    finally:
        with psycopg.connect(warehouse_params.with_dbname("postgres").url(), autocommit=True) as c:
            c.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


def _empty_broker_db(broker_url: str) -> None:
    """Drop whatever an earlier, failed run left in this test's Redis database."""
    import redis

    client = redis.Redis.from_url(broker_url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.mark.e2e
def test_one_month_runs_end_to_end_on_celery_workers(
    redis_broker, metadata_db, fresh_database, dbt_manifest, tmp_path: Path
):
    # A warehouse of this test's own: another test's run of the same month must not make
    # the ledger think its briefs were already sent.
    warehouse_params = fresh_database("sb_celery")
    settings = replace(
        Settings.from_env(),
        warehouse_url=warehouse_params.url(),
        output_dir=tmp_path / "output",
        var_dir=tmp_path / "var",
    )
    # The months before PERIOD, so its 环比/同比 and trends have something to compare with.
    load_history(settings, before=PERIOD)

    config = CeleryStackConfig(
        home=tmp_path / "airflow",
        metadata=metadata_db,
        broker_url=redis_broker,
        api_port=free_port(),
        workers=len(WORKERS),
    )
    config.home.mkdir(parents=True)
    mail_dir = settings.mail_sink_dir
    # The backfill window holds exactly one data interval start: the one of PERIOD.
    last_day = PERIOD.shift(1).first_day - timedelta(days=1)

    with run_sink("127.0.0.1", 0, mail_dir) as sink:
        base = airflow_environment(
            settings, warehouse_params, smtp_connection=sink.airflow_conn_json()
        )
        env = celery_environment(
            {
                **os.environ,
                **base,
                "WAREHOUSE_URL": warehouse_params.url(),
                # Catch-up would start at this month: next year, so the backfill's is the
                # only run (the DAG reads its start date from here).
                "STRATEGY_BRIEFS_FIRST_MONTH": f"{date.today().year + 1}-01",
            },
            config,
        )
        stack = CeleryStack(config, env)
        _empty_broker_db(redis_broker)
        try:
            stack.migrate()
            with stack:
                # Generous: the e2e files run beside this one on the other core (pytest-xdist);
                # not a performance assertion.
                run_id, state = stack.run_backfill(
                    DAG_ID, PERIOD.first_day.isoformat(), last_day.isoformat(), timeout=1200
                )
                worker_logs = stack.worker_logs()
        finally:
            _empty_broker_db(redis_broker)

    # The run, as the metadata database recorded it: the month's only run, succeeded.
    with psycopg.connect(metadata_db.url()) as conn:
        runs = conn.execute(
            "select run_id, state, data_interval_start from dag_run where dag_id = %s", (DAG_ID,)
        ).fetchall()
        failed = conn.execute(
            "select task_id, state from task_instance where run_id = %s"
            " and state in ('failed', 'upstream_failed')",
            (run_id,),
        ).fetchall()
        assert state == "success", f"the run ended {state}; failed tasks: {failed}"
        assert [(r[0], r[1]) for r in runs] == [(run_id, "success")], runs
        interval_start = runs[0][2].astimezone(BANK_TIMEZONE)
        assert (interval_start.year, interval_start.month) == (PERIOD.year, PERIOD.month)
        task_instances = conn.execute(
            "select id::text, task_id, state, hostname from task_instance"
            " where dag_id = %s and run_id = %s",
            (DAG_ID, run_id),
        ).fetchall()

    states = Counter(state for _, _, state, _ in task_instances)
    assert set(states) <= {"success", "skipped"}, states
    executed = [ti for ti in task_instances if ti[2] == "success"]
    # Every task of the DAG: the period, one load per line of business, the dbt nodes, the
    # render, the gate and the delivery.
    task_ids = {ti[1] for ti in executed}
    assert {"resolve_period", "briefs.render_briefs", "delivery.deliver_briefs"} <= task_ids
    assert any(t.startswith("warehouse.") for t in task_ids), task_ids
    lob_codes = sorted(load_catalogue(settings.seeds_dir).lines_of_business)
    loads = [ti for ti in executed if ti[1] == "ingest.load_submission"]
    assert len(loads) == len(lob_codes)

    # Each task ran on one of the two Celery workers (the worker's name is in the
    # hostname it reported), and both workers took a share.
    host = socket.getfqdn()
    hosts = Counter(ti[3] for ti in executed)
    assert set(hosts) <= {f"{host}/{w}" for w in WORKERS}, hosts
    assert len(hosts) == len(WORKERS), f"one worker ran everything: {hosts}"

    # ... and each worker's own Celery log shows the workloads it received.
    received = {name: _workload_ti_ids(text) for name, text in worker_logs.items()}
    for ti_id, task_id, _, hostname in executed:
        worker = hostname.rsplit("/", 1)[1]
        assert ti_id in received[worker], f"{task_id} not in {worker}'s log"

    # The month's briefs: the special edition and one per line of business, real PDFs.
    pdfs = sorted((settings.output_dir / str(PERIOD)).glob("*.pdf"))
    assert {p.name for p in pdfs} == {f"special-edition-{PERIOD}.pdf"} | {
        f"{lob}-{PERIOD}.pdf" for lob in lob_codes
    }
    for pdf in pdfs:
        assert pdf.read_bytes()[:5] == b"%PDF-"
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert PERIOD.year_to_date_label_zh in text, f"{pdf.name} does not name the month"

    # The sink received one message per recipient of each brief, and the ledger agrees.
    recipients = load_recipients(settings.recipients_file)
    expected = Counter(
        address
        for brief_id in ["special_edition", *lob_codes]
        for address in recipients.for_brief(brief_id)
    )
    messages = read_mailbox(mail_dir)
    assert Counter(m.delivered_to for m in messages) == expected
    with warehouse.connect(warehouse_params) as conn:
        accepted = conn.execute(
            "select count(*) from delivery.ledger where period = %s and status = 'accepted'",
            (PERIOD.first_day,),
        ).fetchone()[0]
    assert accepted == sum(expected.values())


# The workload a worker received names its task instance: ti=TaskInstanceDTO(id=UUID('...')
_WORKLOAD_TI = re.compile(
    r"Executing workload in Celery: .*?TaskInstanceDTO\(id=UUID\('([0-9a-f-]{36})'\)"
)


def _workload_ti_ids(log_text: str) -> set[str]:
    """The task-instance ids of the workloads a worker's log says it executed."""
    return set(_WORKLOAD_TI.findall(log_text))


def test_redis_check_gives_the_reason_when_nothing_listens():
    port = free_port()  # bound and released: nothing listens there now
    reason = redis_reachable("127.0.0.1", port, timeout=1)
    assert reason is not None and f"127.0.0.1:{port}" in reason


def test_redis_check_rejects_a_server_that_is_not_redis():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        server.settimeout(5)

        def answer():
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                conn.sendall(b"220 not redis\r\n")

        thread = threading.Thread(target=answer)
        thread.start()
        reason = redis_reachable("127.0.0.1", port, timeout=2)
        thread.join(5)
    assert reason is not None and "did not answer PING" in reason


def test_workers_on_one_machine_report_their_own_hostnames(monkeypatch):
    """The workers' `[core] hostname_callable`, as Airflow itself resolves and calls it."""
    from airflow.utils.net import get_hostname

    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", HOSTNAME_CALLABLE)
    monkeypatch.setenv(WORKER_NAME_ENV, "worker-2")
    assert get_hostname() == f"{socket.getfqdn()}/worker-2"
    monkeypatch.delenv(WORKER_NAME_ENV)
    assert get_hostname() == socket.getfqdn()
