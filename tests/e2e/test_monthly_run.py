"""One month through the real DAG (`dag.test()` via `strategy-briefs run`'s code path):
real PostgreSQL, real dbt, real PDFs read back with pdftotext, a real SMTP server on
loopback. Then June again as a dry run, its re-issue, and the July runs that must send nothing: a
missing line of business, a failing dbt test. The editor's approval through the REST API is
test_editor_approval.py. The process refuses every outbound connection that is not loopback
throughout.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from e2e_pipeline import (
    OUTBOUND_ATTEMPTS,
    approvals,
    pdf_text,
    pipeline_env,
    refusing_outbound_connections,
)

from strategy_briefs import roles, warehouse
from strategy_briefs.briefs.facts import load_brief_facts, load_brief_highlights, load_kpi_history
from strategy_briefs.briefs.provenance import data_snapshot, template_version
from strategy_briefs.cli import CliError, RunFailed, _load_dag, run_month
from strategy_briefs.config import Settings, venv_executable
from strategy_briefs.delivery.mailbox import read_mailbox
from strategy_briefs.delivery.recipients import load_recipients
from strategy_briefs.orchestration.history import load_history
from strategy_briefs.periods import Period
from strategy_briefs_demo.sink import run_sink
from tests.helpers.pdf_pages import correction_marks, page_texts, unmarked_differences

pytestmark = pytest.mark.e2e

JUNE = Period(2020, 6)
JULY = Period(2020, 7)


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
        with refusing_outbound_connections():
            settings = Settings.from_env()
            load_history(settings, before=JUNE)
            with run_sink(port=0, out_dir=root / "mail") as sink:
                os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
                # The first run goes through the command an operator types, in an
                # operator's shell (no Airflow settings exported: the command sets its
                # own), so the test reads exactly what it prints; the later runs are
                # in-process.
                cli = venv_executable("strategy-briefs")
                operator_shell = {
                    k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")
                }
                done = subprocess.run(
                    [str(cli), "run", "--period", str(JUNE)],
                    capture_output=True,
                    text=True,
                    env=operator_shell,
                )
                (root / "run.log").write_text(done.stdout + done.stderr, encoding="utf-8")
                assert done.returncode == 0, done.stderr[-3000:]
                pdfs = [Path(line) for line in done.stdout.splitlines() if line.endswith(".pdf")]
                yield World(settings, incoming, root / "mail", pdfs, root / "run.log", done.stderr)


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
        # FIGURES.md's narrative counts, in the departments' own highlights
        "在3分钟内即可完成注册",
        "1.5万多种农产品价格指数和200余场免费农技课堂",
        "近40%点击客户完成签约",
        "初始委托资产即达5000万元",
        "近万名私银潜力客户",
        "覆盖全行36家一级分行及23家省会城市分行",
    ]:
        assert phrase in text, phrase
    for absent in ("None", "nan", "NaN"):
        assert absent not in text


def test_render_with_png_writes_every_page_as_a_picture(world, tmp_path):
    cli = venv_executable("strategy-briefs")
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


def test_a_second_run_as_a_dry_run_renders_asks_no_editor_and_sends_nothing(world, monkeypatch):
    """June again as a dry run, with approval required: it renders, asks no editor and sends
    nothing. (That a plain second run sends nothing new is the re-issue's run below: its
    unnamed briefs reach nobody again; and tests/delivery's three runs of `deliver()`.)"""
    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL", "required")
    monkeypatch.setenv("STRATEGY_BRIEFS_EDITORS", "editor")
    # Were the step not skipped, nobody would answer: the run would fail within seconds.
    monkeypatch.setenv("STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES", "0.1")
    decisions, mail = approvals(JUNE), read_mailbox(world.mail_dir)
    pdfs = run_month(Settings.from_env(), JUNE, conf={"dry_run": True})
    assert sorted(pdfs) == sorted(world.june_pdfs)  # rendered again
    assert approvals(JUNE) == decisions
    assert len(read_mailbox(world.mail_dir)) == len(mail)


def _seeds_built_by_dag_runs() -> list[str]:
    with warehouse.connect(warehouse.parse_url(os.environ["WAREHOUSE_URL"])) as conn:
        rows = conn.execute(
            "select distinct unique_id from audit.dbt_node_results"
            " where resource_type = 'seed' and airflow_run_id is not null order by 1"
        ).fetchall()
    return [unique_id for (unique_id,) in rows]


def test_the_months_runs_rebuild_no_seed_the_warehouse_holds(world):
    """The history build seeded the warehouse; June's runs find each CSV current."""
    assert _seeds_built_by_dag_runs() == []


REISSUED = ("special_edition", "precious_metals")
REISSUE_REASON = "贵金属业务库存数据口径说明有误，现予更正。"


@dataclass
class Reissue:
    archive: Path
    edition_1: dict[str, tuple[bytes, int]]  # file name -> (bytes, mode) before the re-issue
    manifest_before: dict
    mails: list  # what the re-issue sent


def _cli(*args: str) -> subprocess.CompletedProcess:
    cli = venv_executable("strategy-briefs")
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
    facts = load_brief_facts(reporter, JUNE)
    highlights = load_brief_highlights(reporter, JUNE)
    history = load_kpi_history(reporter, JUNE, months=24)
    settings = Settings.from_env()
    version = template_version(settings.templates_dir, settings.briefs_config_file)
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
    # The units seed's record says another CSV: this run's seed task must build it again.
    owner = warehouse.parse_url(os.environ["WAREHOUSE_URL"])
    with warehouse.connect(owner) as conn:
        conn.execute(
            "update audit.dbt_node_results set seed_checksum = 'an earlier release'"
            " where unique_id = 'seed.strategy_briefs.units'"
        )
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
    assert _seeds_built_by_dag_runs() == ["seed.strategy_briefs.units"]


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
    assert all(t[0] == "2020-06" and t[2] == "success" for t in tasks)
    assert sorted(t[1] for t in tasks) == sorted(_load_dag(world.settings).task_ids)  # once each
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


MARTS = ("brief_facts", "brief_highlights", "fct_branch_standings", "fct_kpi_values_monthly",
         "fct_peer_standings")  # fmt: skip


def _july_builds(owner) -> list[tuple[str, str, object]]:
    """(unique_id, airflow_run_id, recorded_at) of every dbt model built and test passed
    since July's figures were last published, oldest first."""
    with warehouse.connect(owner) as conn:
        return conn.execute(
            "select unique_id, airflow_run_id, recorded_at from audit.dbt_node_results"
            " where status in ('success', 'pass') and resource_type in ('model', 'test')"
            " and recorded_at > (select max(loaded_at) from raw.load_audit"
            "                    where period = %s and status = 'loaded')"
            " order by recorded_at, unique_id",
            (JULY.first_day,),
        ).fetchall()


def test_a_warehouse_killed_mid_way_and_cleared_completes_the_month_building_no_node_twice(
    world,
):
    """July's run is SIGKILLed while its marts layer waits to write (the test holds a lock
    on every mart: staging and intermediate are built and recorded, no mart is written),
    then cleared from the warehouse on, as an operator clears the stage with everything
    after it (the same run id, as Airflow keeps it on a clear). dag.test() starts the run
    afresh, so the tasks that wrote the month before the
    kill (each line's staging, the publish) are marked success as they were
    (`mark_success_pattern`); the read-only checks before them run again and hand the lines
    to stage on (the mapped task expands from validate's list). The month
    completes; audit.dbt_node_results shows every node built once for the month's figures:
    staging and intermediate by the killed run, the marts by the cleared one."""
    from strategy_briefs import cli, periods
    from tests.helpers.kill_points import blocked_by, ended, eventually, sigkill

    owner = warehouse.parse_url(os.environ["WAREHOUSE_URL"])
    settings = world.settings
    out = settings.output_dir / str(JULY)
    shutil.rmtree(out, ignore_errors=True)
    seeds_before = _seeds_built_by_dag_runs()
    strategy_briefs = venv_executable("strategy-briefs")
    with warehouse.connect(owner, autocommit=True) as admin:
        with warehouse.connect(owner) as holder:
            holder.execute(f"lock table {', '.join(f'marts.{t}' for t in MARTS)} in share mode")
            run = subprocess.Popen(
                [str(strategy_briefs), "run", "--period", str(JULY), "--dry-run"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            waiting = eventually(blocked_by(admin, holder.info.backend_pid), "a mart's write")
            assert all("marts" in query for _pid, query in waiting)
            sigkill(run)
            killed_at = admin.execute("select now()").fetchone()[0]
            holder.rollback()
        ended(admin, [pid for pid, _query in waiting])
    built_by_killed = _july_builds(owner)
    names = {uid.split(".")[-1] for uid, _run, _at in built_by_killed}
    assert {"stg_raw__lob_figures", "int_kpi_values_compared"} <= names
    assert not names & set(MARTS)

    cli._prepare(settings)
    dag = _load_dag(settings)
    logical_date = periods.run_time_for(
        JULY, day=settings.schedule_day, hour=settings.schedule_hour
    )
    # The same DAG run: dag.test() replaces a month's run with one whose id comes from
    # run_after, so the killed run's run_after gives the cleared run the killed run's id.
    (killed_run_id,) = {run_id for _uid, run_id, _at in built_by_killed}
    run_after = datetime.fromisoformat(killed_run_id.removeprefix("manual__"))
    cleared = dag.test(
        run_after=run_after,
        logical_date=logical_date,
        run_conf={"dry_run": True},
        mark_success_pattern=r"ingest\.(load_submission|publish_month)",
    )
    assert str(cleared.state) == "success"
    assert len(list(out.glob("*.pdf"))) == 5

    builds = _july_builds(owner)
    unique_ids = [uid for uid, _run, _at in builds]
    assert len(unique_ids) == len(set(unique_ids)), "a node was built twice"
    assert cleared.run_id == killed_run_id
    assert {run_id for _uid, run_id, _at in builds} == {killed_run_id}  # one DAG run
    assert builds[: len(built_by_killed)] == built_by_killed  # staging, intermediate kept
    marts = {uid.split(".")[-1]: at for uid, _run, at in builds if uid.startswith("model.")}
    assert set(MARTS) <= set(marts)
    assert all(marts[name] > killed_at for name in MARTS)
    assert _seeds_built_by_dag_runs() == seeds_before  # the CSVs are current: none built
