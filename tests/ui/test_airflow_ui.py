"""The Airflow UI, seen: an operator logs in and finds the DAG's stages in its graph.

What runs: an Airflow home of this test's own (SQLite metadata, `airflow db migrate`), the
project's dags folder serialized into it (`airflow dags reserialize`, what the
dag-processor would store), and `airflow api-server` on a free loopback port with the
simple auth manager: user `admin`, whose password this test writes into the passwords
file beforehand (the manager keeps a password it finds there). Then headless Chromium
(Debian's `chromium`, driven by Selenium through Debian's `/usr/bin/chromedriver`) opens
the DAG, is sent to the login page, signs in, switches to the graph and waits until the
task groups `ingest`, `warehouse`, `briefs` and `delivery` are drawn. The screenshot goes
to `var/test-output/ui/strategy_briefs_monthly-graph.png` (under `STRATEGY_BRIEFS_VAR`).

Nothing leaves the machine: Selenium gets the driver's path, so Selenium Manager never
runs (and `SE_OFFLINE` is set should it be reached); Chromium runs without proxy,
background networking, component updates or sync.

Skips (with the reason) only when `chromium` or `chromedriver` is not installed
(`make setup` installs both as root: Debian packages `chromium`, `chromium-driver`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_api import (
    ApiServer,
    chromium_or_skip,
    headless_chromium,
    http,
    running_api_server,
)

from strategy_briefs.orchestration.celery_run import airflow_executable

DAG_ID = "strategy_briefs_monthly"
TASK_GROUPS = ("ingest", "warehouse", "briefs", "delivery")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin"
# Generous: the machine may be busy; none of these is a performance assertion.
MIGRATE_TIMEOUT = 600
BROWSER_TIMEOUT = 120
# The button the DAG page shows to switch from the grid to the graph (English UI).
SHOW_GRAPH = "[title='Show Graph (Press g)']"


def _screenshot_path() -> Path:
    var_dir = Path(os.environ.get("STRATEGY_BRIEFS_VAR", PROJECT_ROOT / "var"))
    if not var_dir.is_absolute():
        var_dir = PROJECT_ROOT / var_dir
    return var_dir / "test-output" / "ui" / f"{DAG_ID}-graph.png"


def _run(args: list[str], env: dict[str, str], log_path: Path, timeout: float) -> None:
    with log_path.open("wb") as log:
        result = subprocess.run(
            args,
            env=env,
            cwd=log_path.parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise AssertionError(f"{' '.join(args[1:])} exited {result.returncode}:\n{tail}")


@pytest.fixture(scope="module")
def browser_binaries() -> tuple[str, str]:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def api_server(dbt_manifest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """Airflow's api-server on loopback, with the DAG serialized and a known admin password."""
    home = tmp_path_factory.mktemp("ui") / "airflow"
    home.mkdir()
    own_db = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
    }
    env = {**os.environ, **own_db}
    _run([airflow_executable(), "db", "migrate"], env, home / "db-migrate.log", MIGRATE_TIMEOUT)
    # What the dag-processor stores, once: the UI draws the graph from the serialized DAG.
    _run(
        [airflow_executable(), "dags", "reserialize"],
        env,
        home / "reserialize.log",
        MIGRATE_TIMEOUT,
    )
    with running_api_server(home, {ADMIN: "admin"}, own_db) as server:
        yield server


@pytest.fixture
def browser(browser_binaries):
    """Headless Chromium through Debian's chromedriver; nothing downloaded, no network."""
    with headless_chromium(*browser_binaries) as driver:
        yield driver


def test_unauthenticated_api_request_is_refused(api_server: ApiServer):
    status, _ = http(f"{api_server.base_url}/api/v2/dags/{DAG_ID}")
    assert status == 401, f"GET /api/v2/dags/{DAG_ID} without a token answered {status}"
    status, _ = http(
        f"{api_server.base_url}/auth/token",
        data=json.dumps({"username": ADMIN, "password": "not-" + api_server.password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 401, f"a wrong password got {status}"


def test_operator_logs_in_and_sees_the_task_groups_in_the_graph(
    browser_binaries, api_server: ApiServer, browser, record_property
):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, BROWSER_TIMEOUT)
    screenshot = _screenshot_path()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.unlink(missing_ok=True)
    record_property("screenshot", str(screenshot))

    # Without a session the UI sends the browser to the login page, keeping where it was going.
    browser.get(f"{api_server.base_url}/dags/{DAG_ID}")
    wait.until(ec.visibility_of_element_located((By.NAME, "username")))
    assert "/auth/login" in browser.current_url, browser.current_url
    assert "next=" in browser.current_url, browser.current_url

    browser.find_element(By.NAME, "username").send_keys(ADMIN)
    browser.find_element(By.NAME, "password").send_keys(api_server.password)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[type='submit']"))).click()
    wait.until(lambda d: "/auth/login" not in d.current_url)
    assert browser.current_url.endswith(f"/dags/{DAG_ID}"), browser.current_url

    try:
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, SHOW_GRAPH))).click()

        def groups_drawn(driver) -> bool:
            nodes = driver.find_elements(By.CSS_SELECTOR, ".react-flow__node")
            drawn = {n.get_attribute("data-id") for n in nodes if n.is_displayed()}
            return set(TASK_GROUPS) <= drawn

        wait.until(groups_drawn)
        nodes = {
            n.get_attribute("data-id"): n
            for n in browser.find_elements(By.CSS_SELECTOR, ".react-flow__node")
        }
        labels = {group: nodes[group].text for group in TASK_GROUPS}
    except TimeoutException as exc:
        raise AssertionError(
            f"the graph did not show the task groups {TASK_GROUPS} within {BROWSER_TIMEOUT}s"
            f" (page {browser.current_url}); screenshot: {screenshot};"
            f" api-server log: {api_server.log_path}"
        ) from exc
    finally:
        # Whatever the page shows, keep it: the evidence of a pass or of a failure.
        browser.save_screenshot(str(screenshot))

    for group, text in labels.items():
        lines = text.splitlines()
        assert lines[:2] == [group, "Task Group"], (
            f"node {group!r} reads {text!r}; screenshot: {screenshot}"
        )
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"not a PNG: {screenshot}"
