"""The editor's approval through Airflow's HITL REST API, on July 2020 through the real DAG.

An api-server runs on the metadata database `dag.test()` runs on; the editors answer
through it as they would from Required Actions. A rejected month sends nothing and tells
the operators the comment, a request left unanswered lapses and tells them once, and the
approved re-run sends the month under that approval. The warehouse holds the bundled
history up to June (loaded and built without the DAG), so July is the first DAG month
here. The process refuses every outbound connection that is not loopback throughout.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_pipeline import approvals, pdf_text, pipeline_env, refusing_outbound_connections

from strategy_briefs.cli import RunHeld, run_month
from strategy_briefs.config import Settings, venv_executable
from strategy_briefs.delivery.mailbox import read_mailbox
from strategy_briefs.delivery.recipients import load_recipients
from strategy_briefs.orchestration.history import load_history
from strategy_briefs.periods import Period
from strategy_briefs_demo.sink import run_sink
from tests.helpers.airflow_api import ApiServer, running_api_server

pytestmark = pytest.mark.e2e

JULY = Period(2020, 7)
EDITOR = "editor"
BYSTANDER = "bystander"  # may use the UI, is not an editor
APPROVAL_TASK = "delivery.editor_approval"
ANSWER_TIMEOUT = 900  # generous: the run renders the month first; not a performance assertion


@dataclass
class World:
    settings: Settings
    mail_dir: Path
    run_log: Path  # the runs' logs are written beside it


@pytest.fixture(scope="module")
def world(fresh_database, airflow_db, dbt_manifest, tmp_path_factory):
    root = tmp_path_factory.mktemp("approval")
    with pipeline_env(fresh_database("sb_approval"), root):
        with refusing_outbound_connections():
            settings = Settings.from_env()
            load_history(settings, before=JULY)
            with run_sink(port=0, out_dir=root / "mail") as sink:
                os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
                yield World(settings, root / "mail", root / "run.log")


@pytest.fixture(scope="module")
def editors_api(world, tmp_path_factory):
    """The api-server the editors answer through, on the metadata DB dag.test() runs on."""
    users = {EDITOR: "user", BYSTANDER: "user"}
    with running_api_server(
        tmp_path_factory.mktemp("api"), users, {"AIRFLOW_HOME": os.environ["AIRFLOW_HOME"]}
    ) as server:
        yield server


@dataclass
class AnsweredRun:
    returncode: int
    output: str
    request: dict  # the HITL detail as the REST API showed it while the run waited


def _pending_request(server: ApiServer, run: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        status, found = server.api(
            EDITOR, "dags/strategy_briefs_monthly/dagRuns/~/hitlDetails?response_received=false"
        )
        assert status == 200, found
        for detail in found["hitl_details"]:
            ti = detail["task_instance"]
            # An earlier run's request that lapsed unanswered is listed too: not this one.
            if ti["task_id"] == APPROVAL_TASK and ti["state"] == "awaiting_input":
                return detail
        assert run.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(2)
    raise AssertionError(f"no approval request within {ANSWER_TIMEOUT}s")


def run_and_answer(
    world, server: ApiServer, period: Period, option: str, comment: str, while_pending=None
):
    """`strategy-briefs run` (non-interactive) with approval required; answer over REST."""
    log = world.run_log.with_name(f"run-{period}-{option}.log")
    env = {**os.environ, "STRATEGY_BRIEFS_APPROVAL": "required", "STRATEGY_BRIEFS_EDITORS": EDITOR}
    cli = venv_executable("strategy-briefs")
    with log.open("w") as out:
        run = subprocess.Popen([str(cli), "run", "--period", str(period)], env=env,
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            request = _pending_request(server, run, log)
            path = (
                f"dags/strategy_briefs_monthly/dagRuns/{request['task_instance']['dag_run_id']}"
                f"/taskInstances/{APPROVAL_TASK}/-1/hitlDetails"
            )
            answer = {"chosen_options": [option], "params_input": {"comment": comment}}
            status, refused = server.api(BYSTANDER, path, answer, method="PATCH")
            assert status == 403, (status, refused)  # not an editor
            if while_pending is not None:
                while_pending(request)
            status, recorded = server.api(EDITOR, path, answer, method="PATCH")
            assert status == 200, (status, recorded)
            run.wait(timeout=ANSWER_TIMEOUT)
        finally:
            if run.poll() is None:
                run.kill()
    return AnsweredRun(run.returncode, log.read_text(errors="replace"), request)


def _month_mail(mail_dir: Path, period: Period) -> list:
    return [m for m in read_mailbox(mail_dir) if period.label_zh in str(m.message["Subject"])]


REQUIRED_ACTION_PNG = "strategy_briefs_monthly-required-action.png"


def _screenshot_required_action(server: ApiServer, request: dict) -> Path | None:
    """What the editor sees in Required Actions while the run waits (skipped without Chromium)."""
    import shutil
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.helpers.airflow_api import headless_chromium, sign_in

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        return None
    ti = request["task_instance"]
    url = (
        f"{server.base_url}/dags/strategy_briefs_monthly/runs/{quote(ti['dag_run_id'], safe='')}"
        f"/tasks/{APPROVAL_TASK}/required_actions"
    )
    var_dir = Path(os.environ.get("STRATEGY_BRIEFS_VAR", "var")).resolve()
    screenshot = var_dir / "test-output" / "ui" / REQUIRED_ACTION_PNG
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.unlink(missing_ok=True)
    buttons = "//button[normalize-space()='Approve' or normalize-space()='Reject']"
    with headless_chromium(chromium, chromedriver) as driver:
        driver.set_window_size(1600, 1500)  # the request and its buttons on one picture
        sign_in(driver, server, EDITOR, url)
        try:
            WebDriverWait(driver, 120).until(
                lambda d: (
                    request["subject"] in d.find_element(By.TAG_NAME, "body").text
                    and len(d.find_elements(By.XPATH, buttons)) == 2
                )
            )
            driver.execute_script(
                "arguments[0].scrollIntoView({block: 'end'})",
                driver.find_elements(By.XPATH, buttons)[0],
            )
        finally:
            driver.save_screenshot(str(screenshot))
        shown = [b.text.strip() for b in driver.find_elements(By.XPATH, buttons)]
        page = driver.find_element(By.TAG_NAME, "body").text
        screenshot.with_suffix(".txt").write_text(
            "buttons: " + ", ".join(shown) + "\n" + page, encoding="utf-8"
        )
    return screenshot


@dataclass
class RejectedRun:
    done: AnsweredRun
    new_mail: list
    screenshot: Path | None


@pytest.fixture(scope="module")
def rejected_july(world, editors_api) -> RejectedRun:
    before = read_mailbox(world.mail_dir)
    shot: list[Path | None] = [None]

    def look(request: dict) -> None:
        shot[0] = _screenshot_required_action(editors_api, request)

    done = run_and_answer(world, editors_api, JULY, "Reject", "环比口径有误，请核对贵金属", look)
    return RejectedRun(done, read_mailbox(world.mail_dir)[len(before) :], shot[0])


def test_the_editor_sees_the_pending_request_in_required_actions(rejected_july):
    if rejected_july.screenshot is None:
        pytest.skip("needs headless Chromium (apt-get install chromium chromium-driver)")
    assert rejected_july.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = rejected_july.screenshot.with_suffix(".txt").read_text(encoding="utf-8")
    assert page.startswith("buttons: Approve, Reject\n"), page[:200]
    for shown in (
        "请审批 2020年7月",
        "dbt tests:",
        "截至7月末，手机银行",
        "special-edition-2020-07.pdf",
    ):
        assert shown in page, (shown, rejected_july.screenshot)


def test_a_rejected_month_sends_nothing_and_tells_the_operators_the_comment(world, rejected_july):
    done, new = rejected_july.done, rejected_july.new_mail
    body = done.request["body"]  # what the editor read in Required Actions
    assert "2020年7月" in done.request["subject"]
    for shown in ("Lines of business loaded: credit_card, mobile_banking, precious_metals,"
                  " private_banking", "passed", "Render warnings: 0", "截至7月末，手机银行",
                  "special-edition-2020-07.pdf"):  # fmt: skip
        assert shown in body, shown
    assert [u["id"] for u in done.request["assigned_users"]] == [EDITOR]
    assert "Waiting for an editor's approval" in done.output  # the CLI showed the request

    assert done.returncode == 1  # held by the editor
    assert "rejected by editor: 环比口径有误，请核对贵金属" in done.output
    assert not _month_mail(world.mail_dir, JULY)
    operators = load_recipients(world.settings.recipients_file).operators
    assert len(new) == len(operators)  # one notice per operator, nothing else
    assert all("环比口径有误，请核对贵金属" in str(m.message["Subject"]) for m in new)
    assert approvals(JULY)[-1][1:] == (
        "required",
        "rejected",
        EDITOR,
        "环比口径有误，请核对贵金属",
    )


def test_an_approval_left_pending_tells_the_operators_once_and_sends_nothing(world, monkeypatch):
    from strategy_briefs import warehouse

    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL", "required")
    monkeypatch.setenv("STRATEGY_BRIEFS_EDITORS", EDITOR)
    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES", "0.1")  # nobody answers
    before = read_mailbox(world.mail_dir)
    with pytest.raises(RunHeld, match="editor_approval"):
        run_month(Settings.from_env(), JULY)
    new = read_mailbox(world.mail_dir)[len(before) :]
    assert not _month_mail(world.mail_dir, JULY)
    operators = load_recipients(world.settings.recipients_file).operators
    assert len(new) == len(operators)  # once: the approval task has no retries
    for notice in new:
        assert "approval of 2020-07 still pending after 0.1 minute(s)" in str(
            notice.message["Subject"]
        )
    with warehouse.connect(warehouse.parse_url(os.environ["WAREHOUSE_URL"])) as conn:
        (recorded,) = conn.execute(
            "select count(*) from audit.operator_notices where task_id = %s and reason like %s",
            ("delivery.editor_approval", "%still pending%"),
        ).fetchone()
    assert recorded == 1


def test_the_month_approved_in_the_rest_api_goes_out_under_that_approval(world, editors_api):
    from strategy_briefs.delivery.archive import read_manifest

    done = run_and_answer(world, editors_api, JULY, "Approve", "已核对")
    assert done.returncode == 0, done.output[-3000:]
    approval_id, *decision = approvals(JULY)[-1]
    assert decision == ["required", "approved", EDITOR, "已核对"]

    recipients = load_recipients(world.settings.recipients_file)
    expected = sorted(a for brief in recipients.lists.values() for a in brief)
    assert sorted(m.delivered_to for m in _month_mail(world.mail_dir, JULY)) == expected
    # precious metals' month (FIGURES.md: as at end of July): its narrative count too
    edition = world.settings.output_dir / "2020-07" / "special-edition-2020-07.pdf"
    text = pdf_text(edition)
    assert "上海、天津、北京等9家分行提供的表彰和纪念产品定制" in text
    manifest = read_manifest(world.settings.output_dir / "archive", "2020-07")
    for edition in manifest["editions"]:
        assert edition["approval"]["approval_id"] == approval_id
        assert edition["approval"]["decided_by"] == EDITOR
        assert edition["approval"]["comment"] == "已核对"
        assert {r["approval_id"] for r in edition["recipients"]} == {approval_id}
