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

The same api-server serves the warehouse's dbt docs through Cosmos' plugin, configured as
every local Airflow of the project is (`AIRFLOW__COSMOS__DBT_DOCS_PROJECTS` from
`airflow_environment`) on the docs set-up generates (`build-docs --empty-catalog`): the
operator opens Browse > dbt Docs and finds the marts the briefs read, with the column
descriptions of their YAML files.

Nothing leaves the machine: Selenium gets the driver's path, so Selenium Manager never
runs (and `SE_OFFLINE` is set should it be reached); Chromium runs without proxy,
background networking, component updates or sync, and resolves only loopback. The docs
test also checks that every request the browser made went to the api-server.

Skips (with the reason) only when `chromium` or `chromedriver` is not installed
(`make setup` installs both as root: Debian packages `chromium`, `chromium-driver`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from strategy_briefs.config import Settings
from strategy_briefs.orchestration.environment import DBT_DOCS_SLUG, airflow_environment
from strategy_briefs.warehouse import WarehouseParams
from tests.helpers.airflow_api import (
    ApiServer,
    chromium_or_skip,
    headless_chromium,
    http,
    requested_urls,
    running_api_server,
    sign_in,
)
from tests.helpers.celery_stack import airflow_executable

DAG_ID = "strategy_briefs_monthly"
TASK_GROUPS = ("ingest", "warehouse", "briefs", "delivery")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin"
# Generous: the machine may be busy; none of these is a performance assertion.
MIGRATE_TIMEOUT = 600
BROWSER_TIMEOUT = 120
# The button the DAG page shows to switch from the grid to the graph (English UI).
SHOW_GRAPH = "[title='Show Graph (Press g)']"
# The marts the brief templates and the delivery stage read, and the YAML describing them.
DOCUMENTED_MARTS = {
    "brief_facts": PROJECT_ROOT / "dbt_project/models/marts/briefs/_briefs__models.yml",
    "fct_kpi_values_monthly": PROJECT_ROOT / "dbt_project/models/marts/kpis/_kpis__models.yml",
}
DOCS_CONFIG = "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS"


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


def _docs_config() -> str:
    """The Cosmos docs setting a local Airflow of this project runs with."""
    placeholder = WarehouseParams("127.0.0.1", 5432, "strategy_briefs", "x", "strategy_briefs")
    return airflow_environment(Settings.from_env(), placeholder)[DOCS_CONFIG]


@pytest.fixture(scope="module")
def api_server(
    dbt_manifest, dbt_docs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    """Airflow's api-server on loopback, with the DAG serialized and a known admin password."""
    home = tmp_path_factory.mktemp("ui") / "airflow"
    home.mkdir()
    own_db = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        DOCS_CONFIG: _docs_config(),
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


def _column_descriptions(model: str) -> dict[str, str]:
    """column -> description as the model's YAML file gives it (the docs render Markdown)."""
    models = yaml.safe_load(DOCUMENTED_MARTS[model].read_text(encoding="utf-8"))["models"]
    columns = next(m for m in models if m["name"] == model)["columns"]
    return {c["name"]: " ".join(c["description"].split()) for c in columns}


def _plain(markdown: str) -> str:
    return " ".join(markdown.replace("`", "").replace("**", "").split())


def test_operator_finds_the_marts_and_their_columns_in_the_dbt_docs(
    browser_binaries, api_server: ApiServer, browser, dbt_docs
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, BROWSER_TIMEOUT)
    sign_in(browser, api_server, ADMIN, f"{api_server.base_url}/")
    # Cosmos' view is listed under Browse and opens in a tab of its own.
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[aria-label='Browse']"))).click()
    entry = wait.until(
        ec.element_to_be_clickable(
            (By.CSS_SELECTOR, f"a[role=menuitem][href*='/{DBT_DOCS_SLUG}/']")
        )
    )
    assert entry.text.startswith("dbt Docs"), entry.text
    ui_tab = browser.current_window_handle
    entry.click()
    wait.until(lambda d: len(d.window_handles) == 2)
    browser.switch_to.window(next(h for h in browser.window_handles if h != ui_tab))
    docs_url = browser.current_url.split("#")[0]
    assert docs_url == f"{api_server.base_url}/cosmos/{DBT_DOCS_SLUG}/dbt_docs_index.html"
    # Read on in the first tab, the one whose requests Chromium's performance log records.
    browser.close()
    browser.switch_to.window(ui_tab)
    requested_urls(browser)  # forget the Airflow UI's own requests

    for model in DOCUMENTED_MARTS:
        browser.get(f"{docs_url}#!/model/model.strategy_briefs.{model}")
        expected = _column_descriptions(model)
        last_column = next(reversed(expected))
        wait.until(lambda d, c=last_column: c in d.find_element(By.TAG_NAME, "body").text)
        page = " ".join(browser.find_element(By.TAG_NAME, "body").text.split())
        missing = {c: d for c, d in expected.items() if f"{c} {_plain(d)}" not in page}
        assert not missing, f"{model}: the docs page lacks these columns' descriptions: {missing}"

    # The page is self-contained: the docs app, the manifest and the catalog all came from
    # the api-server, and nothing (dbt's Snowplow tracker is off in the manifest) went out.
    urls = requested_urls(browser)
    paths = {urlsplit(u).path for u in urls}
    for artifact in ("manifest.json", "catalog.json"):
        assert f"/cosmos/{DBT_DOCS_SLUG}/{artifact}" in paths, sorted(paths)
    outside = [u for u in urls if not u.startswith((api_server.base_url + "/", "data:", "blob:"))]
    assert not outside, f"the docs page asked for {outside}"
