"""One month through the real DAG (`dag.test()` via `strategy-briefs run`'s code path):
real PostgreSQL, real dbt, real PDFs read back with pdftotext, a real SMTP server on
loopback. Then the runs that must send nothing: a missing line of business, a failing
dbt test. Then the editor's approval through Airflow's HITL REST API (an api-server on the
metadata database `dag.test()` runs on): a rejected month sends nothing, the approved re-run
sends it. The process refuses every outbound connection that is not loopback throughout.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_api import ApiServer, running_api_server
from e2e_pipeline import pipeline_env
from pdf_pages import correction_marks, page_texts, unmarked_differences

from strategy_briefs import roles, warehouse
from strategy_briefs.briefs.edition import DEFAULT_CONFIG_FILE
from strategy_briefs.briefs.facts import load_brief_facts, load_brief_highlights, load_kpi_history
from strategy_briefs.briefs.provenance import data_snapshot, template_version
from strategy_briefs.briefs.render import TEMPLATES_DIR
from strategy_briefs.cli import CliError, RunFailed, RunHeld, run_month
from strategy_briefs.config import Settings
from strategy_briefs.delivery.recipients import load_recipients
from strategy_briefs.delivery.sink import read_mailbox, run_sink
from strategy_briefs.orchestration.history import load_history
from strategy_briefs.periods import Period

pytestmark = pytest.mark.e2e

JUNE = Period(2020, 6)
JULY = Period(2020, 7)
OUTBOUND_ATTEMPTS: list[str] = []
_GUARD = {"on": False}


def _refuse_non_loopback(event: str, args: tuple) -> None:
    """Audit hook: while the guard is on, any socket.connect off this machine fails."""
    if not _GUARD["on"] or event != "socket.connect":
        return
    sock, address = args[0], args[1]
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else str(address)
    if host in ("127.0.0.1", "::1", "localhost") or host.startswith("127."):
        return
    OUTBOUND_ATTEMPTS.append(f"{host}:{address[1] if isinstance(address, tuple) else ''}")
    raise ConnectionRefusedError(f"outbound connection to {host} refused by the test")


sys.addaudithook(_refuse_non_loopback)


@dataclass
class World:
    settings: Settings
    incoming: Path
    mail_dir: Path
    june_pdfs: list[Path]
    run_log: Path  # what the first run printed, stdout and stderr
    shown: str  # what it showed the operator (stderr)


# Role passwords for this run: they reach the tasks only through Airflow connections and
# env vars, and must never appear in what the run prints.
SECRETS = {name: f"pw-{secrets.token_hex(8)}" for name in roles.PASSWORD_ENV.values()}


@pytest.fixture(scope="module")
def world(fresh_database, airflow_db, dbt_manifest, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    with pipeline_env(fresh_database("sb_e2e"), root, **SECRETS) as incoming:
        _GUARD["on"] = True
        try:
            settings = Settings.from_env()
            load_history(settings, before=JUNE)
            with run_sink(port=0, out_dir=root / "mail") as sink:
                os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
                # The first run goes through the command an operator types, so the test
                # reads exactly what it prints; the later runs are in-process.
                cli = Path(sys.executable).with_name("strategy-briefs")
                done = subprocess.run(
                    [str(cli), "run", "--period", str(JUNE)], capture_output=True, text=True
                )
                (root / "run.log").write_text(done.stdout + done.stderr, encoding="utf-8")
                assert done.returncode == 0, done.stderr[-3000:]
                pdfs = [Path(line) for line in done.stdout.splitlines() if line.endswith(".pdf")]
                yield World(settings, incoming, root / "mail", pdfs, root / "run.log", done.stderr)
        finally:
            _GUARD["on"] = False


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True)
    # -raw reads the columns in order; they break lines mid-sentence, so read one line.
    return "".join(out.stdout.decode("utf-8").split())


def test_the_month_renders_the_special_edition_and_one_brief_per_line_of_business(world):
    names = sorted(p.name for p in world.june_pdfs)
    assert names == [
        "credit_card-2020-06.pdf",
        "mobile_banking-2020-06.pdf",
        "precious_metals-2020-06.pdf",
        "private_banking-2020-06.pdf",
        "special-edition-2020-06.pdf",
    ]
    assert all(p.parent.name == "2020-06" for p in world.june_pdfs)


def test_special_edition_states_the_published_figures(world):
    text = pdf_text(world.settings.output_dir / "2020-06" / "special-edition-2020-06.pdf")
    # FIGURES.md, mobile banking: the lead, rank and lead over 建行, computed 同比 from history.
    for phrase in [
        "专版",
        "截至6月末，手机银行客户数达到3.85亿户",
        "居四行首位，领先第二名建行1762万户",
        "7726万户",
        "同比增长17.7%",
        "31.5万亿元",
        "与去年同期增长25.4%",
        "369.0亿笔",
        "增长21.8%",
        "超过4800亿元",
        "1.37%",
        "1.8万亿元",
        "供稿：网络金融部",
        "内部资料",
        "第1页/共",
        # the departments' highlights (data/incoming/2020-06/highlights/), loaded by the DAG
        "一是县域服务下沉，补齐普惠短板。上线面向县域客户的专属版本",
        "三是工银e生活围绕餐饮、出行、影娱等生活场景持续扩容",
    ]:
        assert phrase in text, phrase
    for absent in ("None", "nan", "NaN"):
        assert absent not in text


def test_render_with_png_writes_every_page_as_a_picture(world, tmp_path):
    cli = Path(sys.executable).with_name("strategy-briefs")
    done = subprocess.run(
        [str(cli), "render", "--period", str(JUNE), "--out", str(tmp_path), "--png"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = [Path(line) for line in done.stdout.splitlines()]
    edition = tmp_path / "2020-06" / "special-edition-2020-06.pdf"
    pages = sorted((tmp_path / "2020-06" / "png").glob("special-edition-2020-06-*.png"))
    info = subprocess.run(["pdfinfo", str(edition)], capture_output=True, text=True).stdout
    page_count = int(next(s.split()[-1] for s in info.splitlines() if s.startswith("Pages:")))
    assert edition in printed and len(pages) == page_count >= 1
    assert set(pages) <= set(printed)
    from PIL import Image

    with Image.open(pages[0]) as first:
        assert first.format == "PNG"
        assert abs(first.height / first.width - 297 / 210) < 0.01  # an A4 page


def test_every_recipient_got_exactly_one_message_with_the_archived_pdf(world):
    recipients = load_recipients(world.settings.recipients_file)
    expected = sorted(a for brief in recipients.lists.values() for a in brief)
    received = [m for m in read_mailbox(world.mail_dir) if "2020" in str(m.message["Subject"])]
    assert sorted(m.delivered_to for m in received) == expected
    archive = world.settings.output_dir / "archive" / "2020-06"
    for item in received:
        (attachment,) = list(item.message.iter_attachments())
        assert attachment.get_filename().endswith(".pdf")
        assert "2020年6月" in str(item.message["Subject"])
        archived = [p for p in archive.glob("*.pdf") if p.read_bytes() == attachment.get_content()]
        assert archived, f"attachment for {item.delivered_to} is not in the archive"
        # the render's lead sentences reached the mail through the DAG's XCom hand-off
        plain = item.message.get_body(("plain",)).get_content()
        assert "本月要点：" in plain and "截至6月末，" in plain
        html = item.message.get_body(("html",)).get_content()
        assert "本月要点" in html and 'src="cid:page-1.' in html
        image = item.message.get_body(("related",)).get_payload()[1]
        assert image.get_content_type() == "image/png"
        assert len(image.get_content()) < 300_000  # small enough for a phone


def test_the_special_edition_mail_leads_with_every_article(world):
    [mail] = [
        m
        for m in read_mailbox(world.mail_dir)
        if m.delivered_to == "president@example.com" and "2020年6月" in str(m.message["Subject"])
    ]
    plain = mail.message.get_body(("plain",)).get_content()
    for lob in ("手机银行", "信用卡", "贵金属", "私人银行"):
        assert f"  • {lob}：截至6月末，" in plain, lob
    assert "手机银行：截至6月末，手机银行客户数达到3.85亿户" in plain


def test_a_second_run_of_the_month_sends_nothing_new(world):
    before = len(read_mailbox(world.mail_dir))
    run_month(world.settings, JUNE)
    assert len(read_mailbox(world.mail_dir)) == before


REISSUED = ("special_edition", "precious_metals")
REISSUE_REASON = "贵金属业务库存数据口径说明有误，现予更正。"


@dataclass
class Reissue:
    archive: Path
    edition_1: dict[str, tuple[bytes, int]]  # file name -> (bytes, mode) before the re-issue
    manifest_before: dict
    mails: list  # what the re-issue sent


def _cli(*args: str) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).with_name("strategy-briefs")
    return subprocess.run([str(cli), *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def reissue(world):
    """June re-issued for two briefs, through the command an operator types."""
    archive = world.settings.output_dir / "archive" / str(JUNE)
    edition_1 = {
        p.name: (p.read_bytes(), p.stat().st_mode) for p in archive.glob("*.edition-1.pdf")
    }
    manifest_before = json.loads((archive / "manifest.json").read_text(encoding="utf-8"))
    before = len(read_mailbox(world.mail_dir))
    done = _cli("run", "--period", str(JUNE), "--force-reissue", REISSUE_REASON,
                "--reissue-brief", ",".join(REISSUED))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return Reissue(archive, edition_1, manifest_before, read_mailbox(world.mail_dir)[before:])


def _brief_of(mail) -> str:
    return dict(
        part.strip().split("=") for part in str(mail.message["X-Strategy-Briefs"]).split(";")
    )["brief"]


def test_a_reissue_resends_only_the_named_briefs_as_corrections(world, reissue):
    recipients = load_recipients(world.settings.recipients_file)
    expected = sorted(a for brief in REISSUED for a in recipients.for_brief(brief))
    assert sorted(m.delivered_to for m in reissue.mails) == expected
    for mail in reissue.mails:
        assert _brief_of(mail) in REISSUED
        assert str(mail.message["Subject"]).startswith("【更正版】")
        assert "edition=2" in str(mail.message["X-Strategy-Briefs"])
    editions = {p.name for p in reissue.archive.glob("*.edition-2.pdf")}
    assert editions == {f"{brief}.edition-2.pdf" for brief in REISSUED}


def test_edition_1_stays_untouched_in_the_archive(reissue):
    after = {
        p.name: (p.read_bytes(), p.stat().st_mode) for p in reissue.archive.glob("*.edition-1.pdf")
    }
    assert after == reissue.edition_1 and len(after) == 5
    manifest = json.loads((reissue.archive / "manifest.json").read_text(encoding="utf-8"))
    first = [e for e in manifest["editions"] if e["edition"] == 1]
    assert first == [e for e in reissue.manifest_before["editions"] if e["edition"] == 1]


@pytest.mark.parametrize("brief_id", REISSUED)
def test_edition_2_differs_from_edition_1_only_in_the_marked_places(reissue, brief_id):
    before = page_texts(reissue.archive / f"{brief_id}.edition-1.pdf")
    after = page_texts(reissue.archive / f"{brief_id}.edition-2.pdf")
    assert after != before
    marks = correction_marks(len(after), REISSUE_REASON)
    assert unmarked_differences(before, after, marks) == []


def test_the_manifest_records_what_each_edition_came_from(world, reissue):
    manifest = json.loads((reissue.archive / "manifest.json").read_text(encoding="utf-8"))
    reporter = roles.role_params(
        warehouse.parse_url(os.environ["WAREHOUSE_URL"]),
        roles.REPORTER,
        roles.passwords_from(os.environ)[roles.REPORTER],
    )
    facts = load_brief_facts(reporter, str(JUNE))
    highlights = load_brief_highlights(reporter, str(JUNE))
    history = load_kpi_history(reporter, str(JUNE), months=24)
    version = template_version(TEMPLATES_DIR, DEFAULT_CONFIG_FILE)
    assert len(manifest["editions"]) == 7
    for entry in manifest["editions"]:
        lob = None if entry["brief_id"] == "special_edition" else entry["brief_id"]
        assert entry["data_snapshot_sha256"] == data_snapshot(facts, highlights, history, lob)
        assert entry["template_version"] == version
        expected_reason = REISSUE_REASON if entry["edition"] == 2 else None
        assert entry["reissue_reason"] == expected_reason


def test_verify_proves_the_archive_and_names_a_brief_whose_data_changed(world, reissue):
    done = _cli("verify", "--period", str(JUNE))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and all(": identical to " in line for line in lines), lines
    assert "special_edition edition 2: identical to special_edition.edition-2.pdf" in lines

    owner = warehouse.parse_url(os.environ["WAREHOUSE_URL"])
    where = "where period = %s and kpi_code = 'pb_clients'"
    update = f"update marts.brief_facts set value_submitted = %s {where}"
    with warehouse.connect(owner) as conn:
        select = f"select value_submitted from marts.brief_facts {where}"
        (submitted,) = conn.execute(select, (JUNE.first_day,)).fetchone()
        conn.execute(update, (submitted + "1", JUNE.first_day))  # a figure changed since
    try:
        done = _cli("verify", "--period", str(JUNE))
    finally:
        with warehouse.connect(owner) as conn:
            conn.execute(update, (submitted, JUNE.first_day))
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    by_brief = {line.split()[0]: line for line in done.stdout.splitlines()}
    for brief in ("special_edition", "private_banking"):
        assert "differs from" in by_brief[brief] and "data changed" in by_brief[brief]
        assert "templates changed" not in by_brief[brief]
    for brief in ("mobile_banking", "credit_card", "precious_metals"):
        assert ": identical to " in by_brief[brief]
    assert "2 brief(s) differ: private_banking, special_edition" in done.stderr


def _operator_notices(mail_dir: Path) -> list:
    return [m for m in read_mailbox(mail_dir) if str(m.message["Subject"]).startswith("[战略简报]")]


def test_a_month_before_the_schedule_start_is_refused(world):
    """Airflow would "succeed" a run before the DAG's start without running a task."""
    first = Period.parse(world.settings.first_month)
    with pytest.raises(CliError, match="STRATEGY_BRIEFS_FIRST_MONTH"):
        run_month(world.settings, first.shift(-1), conf={"dry_run": True})


def test_missing_line_of_business_sends_no_brief_and_notifies_operators_once(world, monkeypatch):
    # The sensor would wait STRATEGY_BRIEFS_SUBMISSION_WAIT_HOURS for the late file; the
    # operators set no wait here, so the run gives up on its first look.
    monkeypatch.setenv("STRATEGY_BRIEFS_SUBMISSION_WAIT_HOURS", "0")
    (world.incoming / "2020-07" / "credit_card.csv").rename(world.incoming / "credit_card.held")
    try:
        before = read_mailbox(world.mail_dir)
        held = _cli("run", "--period", str(JULY))  # as an operator types it: exit 1, held
        new = read_mailbox(world.mail_dir)[len(before) :]
    finally:
        (world.incoming / "credit_card.held").rename(world.incoming / "2020-07" / "credit_card.csv")
    assert held.returncode == 1, held.stderr[-3000:]
    # The display ends with the failing task, the reason the operators were sent, the log.
    last = held.stderr.splitlines()[-1]
    assert "failed tasks: ingest.wait_for_submissions (" in last
    assert "still missing for 2020-07: credit_card" in last
    assert last.endswith(f"; log: {_airflow_log(held.stderr)}")
    assert "2020-07  ingest.wait_for_submissions" in held.stderr
    assert "\x1b" not in held.stderr
    notices = _operator_notices(world.mail_dir)[-len(new) :] if new else []
    assert (
        len(new) == len(notices) == len(load_recipients(world.settings.recipients_file).operators)
    )
    subject = str(notices[0].message["Subject"])
    assert "wait_for_submissions" in subject
    assert "still missing for 2020-07: credit_card (银行卡业务部)" in subject  # whom to chase
    assert not (world.settings.output_dir / "2020-07").exists()


def test_failing_dbt_test_sends_no_brief_and_notifies_operators_once(world):
    july = world.incoming / "2020-07" / "precious_metals.csv"
    original = july.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    # A component above its total: valid to the loader, caught by the warehouse's tests.
    broken = [
        line.replace(",16.48,吨,", ",99.48,吨,") if ",pm_pool_jicunjin,icbc," in line else line
        for line in lines
    ]
    assert broken != lines
    july.write_text("".join(broken), encoding="utf-8")
    try:
        before = read_mailbox(world.mail_dir)
        with pytest.raises(RunFailed, match="fct_kpi_values_monthly") as failure:
            run_month(world.settings, JULY)
        new = read_mailbox(world.mail_dir)[len(before) :]
    finally:
        july.write_text(original, encoding="utf-8")
    operators = load_recipients(world.settings.recipients_file).operators
    assert len(new) == len(operators)
    assert all(str(m.message["Subject"]).startswith("[战略简报]") for m in new)
    assert "fct_kpi_values_monthly" in str(new[0].message["Subject"])
    # The CLI names the failing task with the reason the operators were sent.
    sent_reason = str(new[0].message["Subject"]).split(" failed: ", 1)[1][:40]
    assert f"({sent_reason}" in str(failure.value).split("failed tasks: ", 1)[1]
    # ... and the log holding dbt's own account of the failing test.
    log = Path(str(failure.value).rsplit("; log: ", 1)[1])
    assert "FAIL" in log.read_text(encoding="utf-8", errors="replace")
    assert not list((world.settings.output_dir / "2020-07").glob("*.pdf"))


def test_nothing_tried_to_leave_the_machine(world):
    assert OUTBOUND_ATTEMPTS == []


def _airflow_log(shown: str) -> Path:
    """The log the display names in its first line: '<period>  running …; log: <path>'."""
    return Path(shown.splitlines()[0].rsplit("; log: ", 1)[1])


def test_the_run_shows_one_plain_line_per_task_and_logs_the_rest(world):
    """Without a terminal: no escape codes, every task of the DAG once with its state and
    time, then how the run ended; Airflow's and dbt's own lines are in the named log."""
    printed = world.run_log.read_text(encoding="utf-8")
    assert "\x1b" not in printed
    lines = world.shown.splitlines()
    assert lines[0].startswith("2020-06  running strategy_briefs_monthly; log: ")
    log = _airflow_log(world.shown)
    assert log.resolve().parent == world.settings.var_dir / "logs"
    assert log.name.startswith("2020-06-")
    tasks = [line.split() for line in lines[1:-1]]
    assert len(tasks) == 25 and all(t[0] == "2020-06" and t[2] == "success" for t in tasks)
    assert len({t[1] for t in tasks}) == 25
    assert ["2020-06", "ingest.load_submission", "success", "4/4"] == [
        t for t in tasks if t[1] == "ingest.load_submission"
    ][0][:4]
    assert re.fullmatch(r"2020-06  success in \d+(\.\d)?m?\d*s", lines[-1]), lines[-1]
    assert len(printed.splitlines()) < 40  # the display and the five PDFs' paths
    logged = log.read_text(encoding="utf-8", errors="replace")
    assert "DagRun Finished" in logged  # Airflow's
    assert "OK created sql incremental model marts.brief_facts" in logged  # dbt's


def test_the_run_printed_no_password(world):
    printed = world.run_log.read_text(encoding="utf-8", errors="replace")
    logged = _airflow_log(world.shown).read_text(encoding="utf-8", errors="replace")
    assert "DagRun Finished" in logged  # the capture saw the run
    for name, secret in SECRETS.items():
        assert secret not in printed, f"{name} leaked into the run's output"
        assert secret not in logged, f"{name} leaked into the run's log"


def _scram_matches(verifier: str, password: str) -> bool:
    """Does PostgreSQL's SCRAM-SHA-256 verifier belong to `password`? (RFC 5802/7677)"""
    import base64
    import hashlib
    import hmac

    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return (
        method == "SCRAM-SHA-256"
        and base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key
    )


def test_the_run_set_the_role_passwords_it_was_given(world):
    """The secrets were live: each role's stored verifier is that of this run's password."""
    from strategy_briefs import warehouse

    with warehouse.connect(warehouse.parse_url(os.environ["WAREHOUSE_URL"])) as conn:
        stored = dict(
            conn.execute(
                "select rolname, rolpassword from pg_authid where rolname = any(%s)",
                (list(roles.ROLES),),
            ).fetchall()
        )
    for role, env_name in roles.PASSWORD_ENV.items():
        assert _scram_matches(stored[role], SECRETS[env_name]), role


# ---------------------------------------------------------------- the editor's approval

EDITOR = "editor"
BYSTANDER = "bystander"  # may use the UI, is not an editor
APPROVAL_TASK = "delivery.editor_approval"
ANSWER_TIMEOUT = 900  # generous: the run renders the month first; not a performance assertion


def test_an_automatic_approval_is_recorded_as_such_in_ledger_and_manifest(world):
    from strategy_briefs import warehouse
    from strategy_briefs.delivery.archive import read_manifest

    with warehouse.connect(warehouse.parse_url(os.environ["WAREHOUSE_URL"])) as conn:
        rows = conn.execute(
            "select distinct a.policy, a.decision, a.decided_by from delivery.ledger l"
            " join delivery.approvals a using (approval_id) where l.period = '2020-06-01'"
        ).fetchall()
        unapproved = conn.execute(
            "select count(*) from delivery.ledger where period = '2020-06-01'"
            " and approval_id is null"
        ).fetchone()[0]
    assert rows == [("auto", "approved", "STRATEGY_BRIEFS_APPROVAL=auto")]
    assert unapproved == 0
    manifest = read_manifest(world.settings.output_dir / "archive", "2020-06")
    for edition in manifest["editions"]:
        assert edition["approval"]["policy"] == "auto", edition["brief_id"]
        assert edition["approval"]["decided_by"] == "STRATEGY_BRIEFS_APPROVAL=auto"
        assert edition["approval"]["decided_at"]
        assert all(r["approval_id"] == edition["approval"]["approval_id"]
                   for r in edition["recipients"])  # fmt: skip


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
    cli = Path(sys.executable).with_name("strategy-briefs")
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


def _approvals(period: Period) -> list[tuple]:
    from strategy_briefs import warehouse

    with warehouse.connect(warehouse.parse_url(os.environ["WAREHOUSE_URL"])) as conn:
        return conn.execute(
            "select approval_id, policy, decision, decided_by, comment from delivery.approvals"
            " where period = %s order by approval_id",
            (period.first_day,),
        ).fetchall()


def _month_mail(mail_dir: Path, period: Period) -> list:
    return [m for m in read_mailbox(mail_dir) if period.label_zh in str(m.message["Subject"])]


REQUIRED_ACTION_PNG = "strategy_briefs_monthly-required-action.png"


def _screenshot_required_action(server: ApiServer, request: dict) -> Path | None:
    """What the editor sees in Required Actions while the run waits (skipped without Chromium)."""
    import shutil
    from urllib.parse import quote

    from airflow_api import headless_chromium, sign_in
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

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
    assert _approvals(JULY)[-1][1:] == (
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
    approval_id, *decision = _approvals(JULY)[-1]
    assert decision == ["required", "approved", EDITOR, "已核对"]

    recipients = load_recipients(world.settings.recipients_file)
    expected = sorted(a for brief in recipients.lists.values() for a in brief)
    assert sorted(m.delivered_to for m in _month_mail(world.mail_dir, JULY)) == expected
    manifest = read_manifest(world.settings.output_dir / "archive", "2020-07")
    for edition in manifest["editions"]:
        assert edition["approval"]["approval_id"] == approval_id
        assert edition["approval"]["decided_by"] == EDITOR
        assert edition["approval"]["comment"] == "已核对"
        assert {r["approval_id"] for r in edition["recipients"]} == {approval_id}


def test_a_dry_run_asks_no_editor_and_sends_nothing(world, monkeypatch):
    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL", "required")
    monkeypatch.setenv("STRATEGY_BRIEFS_EDITORS", EDITOR)
    # Were the step not skipped, nobody would answer: the run would fail within seconds.
    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES", "0.1")
    decisions, mail = _approvals(JUNE), read_mailbox(world.mail_dir)
    pdfs = run_month(Settings.from_env(), JUNE, conf={"dry_run": True})
    assert pdfs  # rendered
    assert _approvals(JUNE) == decisions
    assert len(read_mailbox(world.mail_dir)) == len(mail)
