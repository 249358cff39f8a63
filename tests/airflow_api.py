"""`airflow api-server` on a free loopback port, for the tests that use the UI or REST API.

The simple auth manager with the given users (name -> role), whose passwords the test
writes into the passwords file beforehand (the manager keeps a password it finds there).
The metadata database is whichever `AIRFLOW__DATABASE__SQL_ALCHEMY_CONN` the caller
gives: a private one (tests/ui) or the one `dag.test()` runs on (the approval tests).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.orchestration.celery_run import airflow_executable, free_port

START_TIMEOUT = 300  # generous: the machine may be busy; not a performance assertion
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)

# Loopback only, never through a proxy configured in the environment.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with _LOCAL.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class ApiServer:
    base_url: str
    passwords: dict[str, str]
    log_path: Path

    @property
    def password(self) -> str:  # the first user's (tests/ui signs in as admin)
        return next(iter(self.passwords.values()))

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(line[:400] for line in text.splitlines()[-lines:])

    def token(self, user: str) -> str:
        status, body = http(
            f"{self.base_url}/auth/token",
            data=json.dumps({"username": user, "password": self.passwords[user]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert status in (200, 201), f"token for {user}: {status} {body[:300]!r}"
        return json.loads(body)["access_token"]

    def api(self, user: str, path: str, payload: dict | None = None, method: str | None = None):
        """(status, decoded JSON or text) of an authenticated call to /api/v2/…"""
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        status, body = http(f"{self.base_url}/api/v2/{path}", data=data, headers=headers,
                            method=method)  # fmt: skip
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode(errors="replace")


def api_server_env(home: Path, users: dict[str, str], passwords_file: Path, port: int) -> dict:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in users.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
    }


@contextlib.contextmanager
def running_api_server(
    workdir: Path, users: dict[str, str], env_overrides: dict[str, str]
) -> Iterator[ApiServer]:
    """Start the api-server (its logs and passwords in `workdir`), wait until healthy, stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    passwords = {user: secrets.token_urlsafe(16) for user in users}
    passwords_file = workdir / "passwords.json"
    passwords_file.write_text(json.dumps(passwords) + "\n")
    port = free_port()
    home = Path(env_overrides.get("AIRFLOW_HOME", workdir))
    env = {**os.environ, **api_server_env(home, users, passwords_file, port), **env_overrides}
    log_path = workdir / "api-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [airflow_executable(), "api-server", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"],
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = ApiServer(f"http://127.0.0.1:{port}", passwords, log_path)
    try:
        _wait_healthy(server, process)
        # The passwords the test wrote are the ones in force: the manager kept them.
        assert json.loads(passwords_file.read_text()) == passwords
        yield server
    finally:
        _stop(process)


def _wait_healthy(server: ApiServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            status, body = http(f"{server.base_url}/api/v2/monitor/health")
        except (urllib.error.URLError, OSError):
            status, body = 0, b""
        if status == 200 and json.loads(body)["metadatabase"]["status"] == "healthy":
            return
        if process.poll() is not None:
            raise AssertionError(f"api-server exited {process.returncode}:\n{server.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"api-server not healthy in time:\n{server.log_tail()}")
        time.sleep(1)


def _stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
