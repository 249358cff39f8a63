"""One month through the real DAG (`dag.test()` via `strategy-briefs run`'s code path):
real PostgreSQL, real dbt, real PDFs read back with pdftotext, a real SMTP server on
loopback. Then the runs that must send nothing: a missing line of business, a failing
dbt test. The process refuses every outbound connection that is not loopback throughout.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_pipeline import pipeline_env

from strategy_briefs import roles
from strategy_briefs.cli import CliError, run_month
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
    run_log: Path


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
                yield World(settings, incoming, root / "mail", pdfs, root / "run.log")
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


def test_a_second_run_of_the_month_sends_nothing_new(world):
    before = len(read_mailbox(world.mail_dir))
    run_month(world.settings, JUNE)
    assert len(read_mailbox(world.mail_dir)) == before


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
        with pytest.raises(CliError, match="wait_for_submissions"):
            run_month(world.settings, JULY)
        new = read_mailbox(world.mail_dir)[len(before) :]
    finally:
        (world.incoming / "credit_card.held").rename(world.incoming / "2020-07" / "credit_card.csv")
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
        with pytest.raises(CliError, match="fct_kpi_values_monthly") as failure:
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
    assert not list((world.settings.output_dir / "2020-07").glob("*.pdf"))


def test_nothing_tried_to_leave_the_machine(world):
    assert OUTBOUND_ATTEMPTS == []


def test_the_run_printed_no_password(world):
    printed = world.run_log.read_text(encoding="utf-8", errors="replace")
    assert "DagRun Finished" in printed  # the capture saw the run
    for name, secret in SECRETS.items():
        assert secret not in printed, f"{name} leaked into the run's output"


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
