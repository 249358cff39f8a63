"""`airflow api-server` on a free loopback port, and headless Chromium, for the tests that use
the Airflow UI or its REST API.

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
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs_demo.sink import free_port
from tests.helpers.celery_stack import airflow_executable

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


def chromium_or_skip() -> tuple[str, str]:
    """Debian's `chromium` and `chromedriver`, or skip the test saying what is missing."""
    import pytest

    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        missing = [n for n, p in (("chromium", chromium), ("chromedriver", chromedriver)) if not p]
        pytest.skip(
            f"UI test needs headless Chromium: {', '.join(missing)} not installed"
            " (apt-get install chromium chromium-driver; `make setup` does it as root)"
        )
    return chromium, chromedriver


@contextlib.contextmanager
def headless_chromium(chromium: str, chromedriver: str):
    """Headless Chromium through Debian's chromedriver; nothing downloaded, no network.

    Selenium gets the driver's path, so Selenium Manager never runs (`SE_OFFLINE` is set
    should it be reached); Chromium runs without proxy, background networking, component
    updates or sync, and resolves no host name but loopback's. Its network requests are
    logged: `requested_urls(driver)` lists them.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    saved = {k: os.environ.get(k) for k in ("SE_OFFLINE", "NO_PROXY", "no_proxy")}
    no_proxy = ",".join(
        filter(None, [os.environ.get("NO_PROXY", os.environ.get("no_proxy")), "127.0.0.1"])
    )
    os.environ.update({"SE_OFFLINE": "true", "NO_PROXY": no_proxy, "no_proxy": no_proxy})
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1600,1000",
        "--lang=en-US",
        "--no-proxy-server",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-domain-reliability",
        "--metrics-recording-only",
        # A page asking for anything off this machine fails instead of reaching out.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def requested_urls(driver) -> list[str]:
    """Every URL the browser has requested since the last call (Chromium's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def sign_in(driver, server: ApiServer, user: str, url: str, timeout: float = 120) -> None:
    """Open `url`; on the login page it leads to, sign in as `user` and wait to get back."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    driver.get(url)
    wait.until(ec.visibility_of_element_located((By.NAME, "username")))
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(server.passwords[user])
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[type='submit']"))).click()
    wait.until(lambda d: "/auth/login" not in d.current_url)
