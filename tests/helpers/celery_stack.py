"""Run the monthly DAG on Airflow's CeleryExecutor, on one machine: the scale-out test's harness.

The processes the compose `celery` profile runs, as local subprocesses sharing a
PostgreSQL metadata database (Celery cannot use SQLite): an api-server (execution API
only: in Airflow 3 workers run tasks through the Task SDK and report to it), a
dag-processor, a scheduler, a triggerer, and Celery workers on a Redis broker. A month is
run the way an operator re-runs one in that stack, as a backfill of its data interval
(`airflow backfill create`): the scheduler creates the run from the DAG's timetable and
hands every task to the CeleryExecutor. The DAG file is the one every executor runs,
unchanged; only its settings (env) differ.

Every process gets its own process group; `CeleryStack.stop()` ends each group (TERM,
then KILL after a bounded wait), so nothing outlives a failed test.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from strategy_briefs.config import venv_executable
from strategy_briefs.orchestration.environment import WORKER_NAME_ENV, worker_hostname
from strategy_briefs.warehouse import WarehouseParams

# The product's callable (the one production piece of this harness), named as Airflow
# imports it.
HOSTNAME_CALLABLE = f"{worker_hostname.__module__}.{worker_hostname.__qualname__}"
_CELERY_UTILS = "airflow.providers.celery.executors.celery_executor_utils"


class CeleryStackError(RuntimeError):
    """A process of the stack did not start or the run did not finish in time."""


def redis_reachable(host: str = "127.0.0.1", port: int = 6379, timeout: float = 2.0) -> str | None:
    """None when Redis answers PING, else the reason it does not (for a skip message)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return f"no Redis on {host}:{port}: {exc}"
    if reply.startswith(b"+PONG"):
        return None
    return f"Redis on {host}:{port} did not answer PING (got {reply[:40]!r}; password set?)"


def sqlalchemy_url(params: WarehouseParams, driver: str = "postgresql+psycopg2") -> str:
    """`params` as a SQLAlchemy URL (also for a socket directory host)."""
    return driver + params.url().removeprefix("postgresql")


@dataclass(frozen=True)
class CeleryStackConfig:
    """Where the stack keeps its state and how its processes find each other.

    The database number in `broker_url` is what keeps stacks apart on one Redis.
    """

    home: Path
    metadata: WarehouseParams
    broker_url: str
    api_port: int
    workers: int = 2
    worker_concurrency: int = 1
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    api_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def execution_api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/execution/"


def celery_environment(base: Mapping[str, str], config: CeleryStackConfig) -> dict[str, str]:
    """`base` (the project's Airflow env) plus what the CeleryExecutor stack needs."""
    from cryptography.fernet import Fernet

    metadata_url = sqlalchemy_url(config.metadata)
    return {
        **base,
        "AIRFLOW_HOME": str(config.home),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(config.home / "logs"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CELERY__BROKER_URL": config.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sqlalchemy_url(config.metadata, "postgresql"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(config.worker_concurrency),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": config.execution_api_url,
        # The executor signs each task's token, the api-server checks it: one shared secret.
        "AIRFLOW__API_AUTH__JWT_SECRET": config.jwt_secret,
        "AIRFLOW__API__SECRET_KEY": config.api_secret_key,
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # As in compose: a new DAG waits for an operator to unpause it.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        # Pick up the month's run and hand its tasks on without idling between loops.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
    }


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 25, width: int = 400) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(line[:width] for line in text.splitlines()[-lines:])


def airflow_executable() -> str:
    """The `airflow` command of this environment (the venv need not be on PATH)."""
    return str(venv_executable("airflow"))


class CeleryStack:
    """api-server, triggerer and Celery workers as subprocesses; a context manager."""

    def __init__(self, config: CeleryStackConfig, env: Mapping[str, str]):
        self.config = config
        self.env = dict(env)
        self.processes: list[_Process] = []  # running; stop() ends these
        self.started: dict[str, _Process] = {}  # every process ever started, for its log
        self.log_dir = config.home / "processes"

    # ------------------------------------------------------------------ life cycle

    def __enter__(self) -> CeleryStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def migrate(self, timeout: float = 300) -> None:
        """`airflow db migrate` on the metadata database."""
        self._run_to_end("db-migrate", [airflow_executable(), "db", "migrate"], timeout)

    def start(self, timeout: float = 120) -> None:
        """Start every process and wait until the api-server answers and each worker is ready."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.check_provider()
        api = self._spawn(
            "api-server",
            [
                airflow_executable(),
                "api-server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.config.api_port),
                "--workers",
                "1",
                "--apps",
                "execution",
            ],
        )
        workers = [
            self._spawn(
                f"worker-{n}",
                [
                    airflow_executable(),
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"worker-{n}@%h",
                    "--concurrency",
                    str(self.config.worker_concurrency),
                    "--skip-serve-logs",
                    "--without-gossip",
                    "--without-mingle",
                ],
                extra_env={
                    WORKER_NAME_ENV: f"worker-{n}",
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": HOSTNAME_CALLABLE,
                },
            )
            for n in range(1, self.config.workers + 1)
        ]
        self._spawn("dag-processor", [airflow_executable(), "dag-processor"])
        self._spawn("scheduler", [airflow_executable(), "scheduler", "--skip-serve-logs"])
        # Deferrable tasks (sensors) resume in the triggerer.
        self._spawn("triggerer", [airflow_executable(), "triggerer", "--skip-serve-logs"])
        deadline = time.monotonic() + timeout
        self._wait_for(api, deadline, self._api_healthy)
        for worker in workers:
            self._wait_for(worker, deadline, lambda w=worker: " ready." in self._read(w))

    def check_provider(self) -> None:
        """Fail with the real ImportError when the Celery provider cannot load.

        `airflow celery worker` reports any such error as "only available in Airflow
        versions >= 2.8.0", which hides the cause.
        """
        probe = subprocess.run(
            [sys.executable, "-c", f"import {_CELERY_UTILS}"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if probe.returncode == 0:
            return
        error = (probe.stderr.strip().splitlines() or ["(no output)"])[-1]
        hint = ""
        if "cannot import name 'retry'" in error:
            hint = (
                " (celery 5.7 removed celery.backends.database.retry, which"
                " apache-airflow-providers-celery 3.26 imports: pin celery<5.7)"
            )
        raise CeleryStackError(f"the Celery provider does not import: {error}{hint}")

    def stop(self, grace: float = 20) -> None:
        """TERM every process group, then KILL what is left after `grace` seconds."""
        for process in self.processes:
            self._signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # Task processes forked by a worker may outlive it: end the whole group.
            self._signal_group(process, signal.SIGKILL)
            try:
                process.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()

    # ------------------------------------------------------------------ runs

    def run_backfill(
        self,
        dag_id: str,
        from_date: str,
        to_date: str,
        *,
        timeout: float = 300,
        poll: float = 2,
    ) -> tuple[str, str]:
        """Backfill `dag_id` over [from_date, to_date] and wait for its one run to finish.

        Waits until the dag-processor has stored the DAG, unpauses it (the scheduler starts
        no run of a paused DAG, backfills included), creates the backfill, then polls the
        metadata database. The DAG's start date must lie in the future (for this project:
        `STRATEGY_BRIEFS_FIRST_MONTH`), or unpausing it starts catch-up runs as well.
        Returns the run's (run_id, state); raises `CeleryStackError` if the DAG gets any
        other run or the run does not finish within `timeout`.
        """
        deadline = time.monotonic() + timeout
        while not self._query("select 1 from serialized_dag where dag_id = %s", dag_id):
            self._check_alive()
            if time.monotonic() > deadline:
                raise CeleryStackError(
                    f"the dag-processor did not store {dag_id} in time:\n"
                    f"{self.started['dag-processor'].log_tail()}"
                )
            time.sleep(poll)
        self._run_to_end("unpause", [airflow_executable(), "dags", "unpause", dag_id], timeout=60)
        self._run_to_end(
            "backfill-create",
            [
                airflow_executable(),
                "backfill",
                "create",
                "--dag-id",
                dag_id,
                "--from-date",
                from_date,
                "--to-date",
                to_date,
            ],
            timeout=max(30.0, deadline - time.monotonic()),
        )
        while True:
            runs = self._query("select run_id, state from dag_run where dag_id = %s", dag_id)
            if len(runs) > 1:
                raise CeleryStackError(f"expected the backfill's run only, found {runs}")
            if runs and runs[0][1] in ("success", "failed"):
                return runs[0][0], runs[0][1]
            self._check_alive()
            if time.monotonic() > deadline:
                raise CeleryStackError(
                    f"the backfill of {dag_id} did not finish in {timeout:.0f}s (runs: {runs});"
                    f" scheduler:\n{self.started['scheduler'].log_tail()}"
                )
            time.sleep(poll)

    def worker_logs(self) -> dict[str, str]:
        """Each worker's own output (Celery's log, one line per workload it executed)."""
        return {
            name: self._read(p) for name, p in self.started.items() if name.startswith("worker-")
        }

    # ------------------------------------------------------------------ helpers

    def _spawn(
        self, name: str, args: list[str], extra_env: Mapping[str, str] | None = None
    ) -> _Process:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                args,
                env={**self.env, **(extra_env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.config.home,
                start_new_session=True,
            )
        process = _Process(name, popen, log_path)
        self.processes.append(process)
        self.started[name] = process
        return process

    def _run_to_end(
        self, name: str, args: list[str], timeout: float, *, check: bool = True
    ) -> subprocess.CompletedProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        process = self._spawn(name, args)
        try:
            code = process.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(process, signal.SIGKILL)
            process.popen.wait(timeout=10)
            raise CeleryStackError(
                f"{name} did not finish in {timeout:.0f}s; last lines:\n{process.log_tail()}"
            ) from None
        finally:
            self.processes.remove(process)
        if check and code != 0:
            raise CeleryStackError(f"{name} exited {code}; last lines:\n{process.log_tail()}")
        return subprocess.CompletedProcess(args, code, self._read(process), "")

    def _query(self, statement: str, *args: object) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.config.metadata.url(), connect_timeout=10) as conn:
            return conn.execute(statement, args).fetchall()

    def _check_alive(self) -> None:
        """Raise if a long-running process of the stack has died."""
        for process in self.processes:
            if process.popen.poll() is not None:
                raise CeleryStackError(
                    f"{process.name} exited {process.popen.returncode}:\n{process.log_tail()}"
                )

    def _api_healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.config.api_port}/execution/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _wait_for(self, process: _Process, deadline: float, ready) -> None:
        while not ready():
            if process.popen.poll() is not None:
                raise CeleryStackError(
                    f"{process.name} exited {process.popen.returncode} while starting:\n"
                    f"{process.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise CeleryStackError(
                    f"{process.name} not ready in time; last lines:\n{process.log_tail()}"
                )
            time.sleep(0.5)

    @staticmethod
    def _read(process: _Process) -> str:
        try:
            return process.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @staticmethod
    def _signal_group(process: _Process, sig: signal.Signals) -> None:
        try:
            os.killpg(process.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
