"""End to end through a real SMTP server on loopback and the real ledger in PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from delivery_helpers import (
    ALL_RECIPIENTS,
    DEMO_NOTICE,
    EXECUTIVES,
    HEADLINES,
    MOBILE_HEADS,
    RejectingSaver,
    make_briefs,
)
from PIL import Image

from strategy_briefs import warehouse
from strategy_briefs.briefs.render import first_page_png
from strategy_briefs.delivery import ledger
from strategy_briefs.delivery.mailbox import read_mailbox
from strategy_briefs.delivery.send import (
    MAIL_PAGE_WIDTH_PX,
    AirflowSmtpSender,
    DeliveryError,
    EditionConflict,
    deliver,
    reconcile_with_mailbox,
)
from strategy_briefs.hashing import file_sha256
from strategy_briefs_demo.sink import EmlSaver, run_sink
from tests.helpers.kill_points import WAIT_SECONDS, ended, eventually, sigkill


def copies_per_recipient(mailbox: Path) -> Counter[str]:
    return Counter(m.delivered_to for m in read_mailbox(mailbox))


def run(params, period, briefs, recipients, tmp_path, reason=None, reissued=None):
    with AirflowSmtpSender() as sender:
        return deliver(
            params,
            period,
            briefs,
            recipients,
            sender,
            archive_root=tmp_path / "archive",
            force_reissue_reason=reason,
            reissue_brief_ids=reissued,
        )


def assert_phone_body(msg, archived_pdf: Path) -> None:
    """本月要点 in both bodies, ＊ explained, page 1 of the attached PDF inline by cid."""
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for line in HEADLINES:
        assert f"{line.lob_name_zh}：{line.sentence}" in plain
        assert f"<strong>{line.lob_name_zh}</strong>：{line.sentence}" in html
    assert "本月要点" in plain and "本月要点" in html
    assert DEMO_NOTICE in plain and DEMO_NOTICE in html
    related = msg.get_body(("related",))
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    (cid,) = re.findall(r'<img src="cid:([^"]+)"', html_part.get_content())
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_content() == first_page_png(archived_pdf, MAIL_PAGE_WIDTH_PX)
    with Image.open(BytesIO(image.get_content())) as picture:
        assert picture.width == MAIL_PAGE_WIDTH_PX


def test_three_runs_deliver_one_message_per_recipient(
    warehouse_params, period, briefs, recipients, sink, mailbox, tmp_path
):
    first = run(warehouse_params, period, briefs, recipients, tmp_path)
    assert len(first.sent) == 3
    for _ in range(2):
        again = run(warehouse_params, period, briefs, recipients, tmp_path)
        assert again.sent == []
        assert len(again.with_result("already_accepted")) == 3

    received = read_mailbox(mailbox)
    assert copies_per_recipient(mailbox) == Counter(ALL_RECIPIENTS)
    rows = {(r.brief_id, r.recipient): r for r in ledger.ledger_rows(warehouse_params, period)}
    assert {r.status for r in rows.values()} == {"accepted"}
    archive_dir = tmp_path / "archive" / period
    for item in received:
        brief_id = "special_edition" if item.delivered_to in EXECUTIVES else "mobile_banking"
        brief = next(b for b in briefs if b.brief_id == brief_id)
        msg = item.message
        assert str(msg["Subject"]) == brief.title_zh
        assert str(msg["To"]) == item.delivered_to
        assert str(msg["Message-ID"]) == rows[(brief_id, item.delivered_to)].message_id
        (attachment,) = list(msg.iter_attachments())
        assert attachment.get_filename() == f"{brief.title_zh}.pdf"
        assert attachment.get_param("name") == f"{brief.title_zh}.pdf"
        archived = archive_dir / f"{brief_id}.edition-1.pdf"
        assert attachment.get_content() == archived.read_bytes() == brief.path.read_bytes()
        assert_phone_body(msg, archived)
        raw = item.path.read_bytes()
        assert b"filename*=utf-8''" in raw and b'name="=?utf-8?b?' in raw

    # the server's queue id is kept, to find the message in its log
    assert all(r.smtp_response.startswith("250 OK queued as") for r in rows.values())
    manifest = json.loads((archive_dir / "manifest.json").read_text(encoding="utf-8"))
    special = next(e for e in manifest["editions"] if e["brief_id"] == "special_edition")
    assert special["pdf_sha256"] == file_sha256(briefs[0].path)
    # the claims file is archived beside the sent PDF and named in the manifest
    assert special["trace_file"] == "special_edition.edition-1.trace.json"
    archived_trace = archive_dir / special["trace_file"]
    assert archived_trace.read_bytes() == briefs[0].path.with_suffix(".trace.json").read_bytes()
    assert special["data_snapshot_sha256"] == "ab" * 32
    assert special["template_version"] == "test-1"
    assert sorted(r["address"] for r in special["recipients"]) == sorted(EXECUTIVES)
    assert {r["message_id"] for r in special["recipients"]} == {
        rows[("special_edition", a)].message_id for a in EXECUTIVES
    }
    assert stat.S_IMODE((archive_dir / "special_edition.edition-1.pdf").stat().st_mode) == 0o444


def test_server_down_fails_then_recovery_delivers_each_once(
    warehouse_params, period, briefs, recipients, smtp_port, mailbox, tmp_path
):
    with pytest.raises(DeliveryError) as failure:
        run(warehouse_params, period, briefs, recipients, tmp_path)
    report = failure.value.report
    assert report.sent == []
    assert [r.result for r in report.results] == ["failed", "not_attempted", "not_attempted"]
    assert [r.status for r in ledger.ledger_rows(warehouse_params, period)] == ["failed"]

    with run_sink("127.0.0.1", smtp_port, mailbox):
        recovered = run(warehouse_params, period, briefs, recipients, tmp_path)
        assert len(recovered.sent) == 3
        assert run(warehouse_params, period, briefs, recipients, tmp_path).sent == []
    assert copies_per_recipient(mailbox) == Counter(ALL_RECIPIENTS)


def test_rejected_recipient_is_the_only_one_retried(
    warehouse_params, period, briefs, recipients, smtp_port, mailbox, tmp_path
):
    refused = EXECUTIVES[1]
    handler = RejectingSaver(mailbox, rejected={refused})
    with run_sink("127.0.0.1", smtp_port, mailbox, handler=handler):
        with pytest.raises(DeliveryError) as failure:
            run(warehouse_params, period, briefs, recipients, tmp_path)
        (problem,) = failure.value.report.problems
        assert (problem.recipient, problem.result) == (refused, "rejected")
        assert problem.smtp_response.startswith("550")
        assert copies_per_recipient(mailbox) == Counter([EXECUTIVES[0]] + MOBILE_HEADS)

        handler.rejected.clear()  # the mailbox was fixed
        retry = run(warehouse_params, period, briefs, recipients, tmp_path)
    assert [r.recipient for r in retry.sent] == [refused]
    assert copies_per_recipient(mailbox) == Counter(ALL_RECIPIENTS)
    rows = {r.recipient: r for r in ledger.ledger_rows(warehouse_params, period)}
    assert rows[refused].attempts == 2 and rows[refused].status == "accepted"
    assert rows[EXECUTIVES[0]].attempts == 1


def test_forced_reissue_sends_one_correction_per_recipient_and_keeps_both_editions(
    warehouse_params, period, briefs, recipients, sink, mailbox, tmp_path
):
    run(warehouse_params, period, briefs, recipients, tmp_path)
    corrected = make_briefs(tmp_path / "render-corrected", period, variant="corrected")
    reason = "信用卡交易额口径更正"
    reissue = run(warehouse_params, period, corrected, recipients, tmp_path, reason=reason)
    assert reissue.editions == {"special_edition": 2, "mobile_banking": 2}
    assert len(reissue.sent) == 3
    # Airflow retries reuse the same reason; a plain re-run uses the latest edition.
    assert run(warehouse_params, period, corrected, recipients, tmp_path, reason=reason).sent == []
    assert run(warehouse_params, period, corrected, recipients, tmp_path).sent == []

    assert copies_per_recipient(mailbox) == Counter(ALL_RECIPIENTS * 2)
    corrections = [
        m.message for m in read_mailbox(mailbox) if "更正版" in str(m.message["Subject"])
    ]
    assert len(corrections) == 3
    for msg in corrections:
        assert str(msg["Subject"]).startswith("【更正版】")
        (attachment,) = list(msg.iter_attachments())
        assert attachment.get_filename().endswith("（更正版）.pdf")
        assert reason in msg.get_body(("plain",)).get_content()
    rows = ledger.ledger_rows(warehouse_params, period)
    assert Counter((r.edition, r.status) for r in rows) == {(1, "accepted"): 3, (2, "accepted"): 3}
    assert {r.reissue_reason for r in rows if r.edition == 2} == {reason}
    archive_dir = tmp_path / "archive" / period
    assert (archive_dir / "mobile_banking.edition-1.pdf").read_bytes() == briefs[
        1
    ].path.read_bytes()
    assert (archive_dir / "mobile_banking.edition-2.pdf").read_bytes() == (
        corrected[1].path.read_bytes()
    )


def test_a_reissue_naming_one_brief_sends_only_that_brief_again(
    warehouse_params, period, briefs, recipients, sink, mailbox, tmp_path
):
    run(warehouse_params, period, briefs, recipients, tmp_path)
    # The special edition renders as before; only the mobile-banking brief is corrected.
    corrected = [briefs[0], make_briefs(tmp_path / "corrected", period, "corrected")[1]]
    reason = "手机银行客户数口径更正"
    only_mobile = frozenset({"mobile_banking"})
    reissue = run(
        warehouse_params, period, corrected, recipients, tmp_path, reason, reissued=only_mobile
    )
    assert reissue.editions == {"special_edition": 1, "mobile_banking": 2}
    assert sorted(r.recipient for r in reissue.sent) == MOBILE_HEADS
    assert copies_per_recipient(mailbox) == Counter(EXECUTIVES + MOBILE_HEADS * 2)
    rows = ledger.ledger_rows(warehouse_params, period)
    assert {(r.brief_id, r.edition, r.reissue_reason) for r in rows} == {
        ("special_edition", 1, None),
        ("mobile_banking", 1, None),
        ("mobile_banking", 2, reason),
    }
    assert not (tmp_path / "archive" / period / "special_edition.edition-2.pdf").exists()


def test_a_reissue_not_naming_a_changed_brief_sends_nothing(
    warehouse_params, period, briefs, recipients, sink, mailbox, tmp_path
):
    run(warehouse_params, period, briefs, recipients, tmp_path)
    changed = make_briefs(tmp_path / "changed", period, variant="changed")
    with pytest.raises(EditionConflict, match="special_edition .*name this one"):
        run(
            warehouse_params,
            period,
            changed,
            recipients,
            tmp_path,
            "手机银行客户数口径更正",
            reissued=frozenset({"mobile_banking"}),
        )
    assert len(read_mailbox(mailbox)) == 3
    assert {r.edition for r in ledger.ledger_rows(warehouse_params, period)} == {1}


def test_changed_pdf_without_reissue_sends_nothing(
    warehouse_params, period, briefs, recipients, sink, mailbox, tmp_path
):
    run(warehouse_params, period, briefs, recipients, tmp_path)
    changed = make_briefs(tmp_path / "render-changed", period, variant="changed")
    with pytest.raises(EditionConflict):
        run(warehouse_params, period, changed, recipients, tmp_path)
    assert len(read_mailbox(mailbox)) == 3


def test_the_send_task_refuses_a_changed_pdf_at_once_without_retries(
    monkeypatch,
    warehouse_params,
    period,
    briefs,
    recipients_file,
    recipients,
    sink,
    mailbox,
    tmp_path,
):
    """Every retry would offer the same changed PDF: the task fails at once (it once sat
    in up_for_retry for minutes before failing with the same refusal)."""
    from airflow.sdk.exceptions import AirflowFailException

    from strategy_briefs import roles
    from strategy_briefs.delivery.approval import Approval, record_approval
    from strategy_briefs.orchestration import tasks

    run(warehouse_params, period, briefs, recipients, tmp_path)
    changed = make_briefs(tmp_path / "render-changed", period, variant="changed")
    reporter = roles.role_params(warehouse_params, roles.REPORTER)
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{tasks.REPORTER_CONN_ID.upper()}", reporter.airflow_conn_json()
    )
    monkeypatch.setenv("STRATEGY_BRIEFS_RECIPIENTS", str(recipients_file))
    monkeypatch.setenv("STRATEGY_BRIEFS_OUTPUT", str(tmp_path))
    shas = {brief.brief_id: brief.sha256 for brief in changed}
    decided = datetime.now(UTC)
    record_approval(
        warehouse_params,
        Approval(None, period, "run-changed", "required", "approved", "editor", decided, "", shas),
    )
    with pytest.raises(AirflowFailException, match="differs from edition 1 already sent"):
        tasks.deliver_briefs(period, changed, {}, "run-changed")
    assert len(read_mailbox(mailbox)) == 3


DELIVERY_RUN = Path(__file__).with_name("delivery_run.py")


class HoldAtData(EmlSaver):
    """The sink, holding its reply to the first DATA of `victim`'s message until the test
    lets go: the delivering process then waits at a known point, its intent committed and the
    whole message handed over. With `keep` the server has stored the message (it accepted
    it); without, it drops it (it never did)."""

    def __init__(self, out_dir: Path, victim: str, *, keep: bool):
        super().__init__(out_dir)
        self.victim, self.keep = victim, keep
        self.at_data = threading.Event()
        self.released = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.at_data.is_set() or self.victim not in envelope.rcpt_tos:
            return await super().handle_DATA(server, session, envelope)
        reply = await super().handle_DATA(server, session, envelope) if self.keep else "451 4.3.0"
        self.at_data.set()
        await asyncio.to_thread(self.released.wait, WAIT_SECONDS)
        return reply


def delivery_killed_at_data(params, period, briefs, recipients_file, tmp_path, held: HoldAtData):
    """`deliver()` in a process of its own (delivery_run.py), SIGKILLed while the server holds
    its reply to the victim's DATA; returns once its warehouse session has ended."""
    briefs_json = tmp_path / "briefs.json"
    briefs_json.write_text(json.dumps([b.serialize() for b in briefs]), encoding="utf-8")
    stderr = tmp_path / "delivery_run.stderr"
    arguments = [params.url(), period, briefs_json, recipients_file, tmp_path / "archive"]
    with stderr.open("wb") as errors, warehouse.connect(params, autocommit=True) as conn:
        process = subprocess.Popen(
            [sys.executable, DELIVERY_RUN, *map(str, arguments)], stderr=errors
        )
        try:
            eventually(lambda: held.at_data.is_set() or process.poll() is not None, "DATA")
            assert held.at_data.is_set(), stderr.read_text(encoding="utf-8")[-2000:]
            pids = eventually(month_lock_holders(conn), "the delivery holding the month's lock")
            sigkill(process)
        finally:
            held.released.set()
            if process.poll() is None:
                process.kill()
                process.wait()
        ended(conn, pids)


def month_lock_holders(conn):
    """A probe: the sessions holding an advisory lock in this database (the month's)."""

    def probe() -> list[int] | None:
        rows = conn.execute(
            "select pid from pg_locks where locktype = 'advisory' and granted"
            " and database = (select oid from pg_database where datname = current_database())"
        ).fetchall()
        return [pid for (pid,) in rows] or None

    return probe


@pytest.fixture
def patient_smtp(smtp_port, monkeypatch):
    """The SMTP connection waiting as long as the test holds the DATA reply (not 10 s)."""
    conn = json.loads(os.environ["AIRFLOW_CONN_SMTP_DEFAULT"])
    conn["extra"]["timeout"] = WAIT_SECONDS
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    return smtp_port


def intent_rows(params, period) -> dict[str, str]:
    """recipient -> Message-ID of the ledger rows left with an intent and no outcome."""
    rows = ledger.ledger_rows(params, period)
    return {r.recipient: r.message_id for r in rows if r.status == "intent"}


def test_killed_after_server_accepted_is_not_resent(
    warehouse_params, period, briefs, recipients, recipients_file, patient_smtp, mailbox, tmp_path
):
    victim = EXECUTIVES[0]
    held = HoldAtData(mailbox, victim, keep=True)
    with run_sink("127.0.0.1", patient_smtp, mailbox, handler=held):
        delivery_killed_at_data(warehouse_params, period, briefs, recipients_file, tmp_path, held)
        assert copies_per_recipient(mailbox) == Counter([victim])  # the server has it
        (message_id,) = intent_rows(warehouse_params, period).values()

        with pytest.raises(DeliveryError) as failure:
            run(warehouse_params, period, briefs, recipients, tmp_path)
        (problem,) = failure.value.report.problems
        assert (problem.recipient, problem.result, problem.message_id) == (
            victim,
            "unknown",
            message_id,
        )
        assert copies_per_recipient(mailbox) == Counter(ALL_RECIPIENTS)  # victim: one copy
        # Airflow's retry does not resend either: the row waits for evidence or an operator.
        with pytest.raises(DeliveryError):
            run(warehouse_params, period, briefs, recipients, tmp_path)
        assert copies_per_recipient(mailbox)[victim] == 1

        assert reconcile_with_mailbox(warehouse_params, period, mailbox) == [message_id]
        assert run(warehouse_params, period, briefs, recipients, tmp_path).sent == []
    assert copies_per_recipient(mailbox) == Counter(ALL_RECIPIENTS)


def test_killed_before_server_accepted_is_resent_after_operator_decision(
    warehouse_params, period, briefs, recipients, recipients_file, patient_smtp, mailbox, tmp_path
):
    victim = MOBILE_HEADS[0]
    held = HoldAtData(mailbox, victim, keep=False)
    with run_sink("127.0.0.1", patient_smtp, mailbox, handler=held):
        delivery_killed_at_data(warehouse_params, period, briefs, recipients_file, tmp_path, held)
        assert copies_per_recipient(mailbox) == Counter(EXECUTIVES)  # sent before the kill
        intents = intent_rows(warehouse_params, period)
        assert list(intents) == [victim]
        with pytest.raises(DeliveryError):
            run(warehouse_params, period, briefs, recipients, tmp_path)
        assert reconcile_with_mailbox(warehouse_params, period, mailbox) == []  # no evidence
        assert copies_per_recipient(mailbox)[victim] == 0

        ledger.resolve_unknown(
            warehouse_params,
            period=period,
            brief_id="mobile_banking",
            edition=1,
            recipient=victim,
            decision="resend",
            note="not in the mail server log",
        )
        retry = run(warehouse_params, period, briefs, recipients, tmp_path)
    message_id = intents[victim]  # a resend carries the Message-ID of the attempt
    assert [(r.recipient, r.message_id) for r in retry.sent] == [(victim, message_id)]
    assert copies_per_recipient(mailbox) == Counter(ALL_RECIPIENTS)
    (copy,) = [m for m in read_mailbox(mailbox) if m.delivered_to == victim]
    assert str(copy.message["Message-ID"]) == message_id


class DropAfterData(EmlSaver):
    """Stores the message, then drops the connection before replying: the client cannot know."""

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        server.transport.close()
        return reply


def test_connection_lost_after_data_is_unknown_and_never_blindly_resent(
    warehouse_params, period, briefs, recipients, smtp_port, mailbox, tmp_path
):
    only_mobile = [briefs[1]]
    with run_sink("127.0.0.1", smtp_port, mailbox, handler=DropAfterData(mailbox)):
        with pytest.raises(DeliveryError) as failure:
            run(warehouse_params, period, only_mobile, recipients, tmp_path)
    (problem,) = failure.value.report.problems
    assert problem.result == "unknown" and "no reply after DATA" in problem.smtp_response
    with run_sink("127.0.0.1", smtp_port, mailbox):
        with pytest.raises(DeliveryError):
            run(warehouse_params, period, only_mobile, recipients, tmp_path)
        assert copies_per_recipient(mailbox) == Counter(MOBILE_HEADS)
        assert reconcile_with_mailbox(warehouse_params, period, mailbox) == [problem.message_id]
        assert run(warehouse_params, period, only_mobile, recipients, tmp_path).sent == []
    assert copies_per_recipient(mailbox) == Counter(MOBILE_HEADS)


def test_two_deliveries_of_one_month_never_overlap(
    warehouse_params, period, briefs, recipients, sink, mailbox, tmp_path
):
    from strategy_briefs import warehouse

    with warehouse.connect(warehouse_params, autocommit=True) as other:
        with ledger.period_lock(other, period):
            with pytest.raises(ledger.DeliveryBusy):
                run(warehouse_params, period, briefs, recipients, tmp_path)
    assert read_mailbox(mailbox) == []
    assert len(run(warehouse_params, period, briefs, recipients, tmp_path).sent) == 3


@pytest.mark.parametrize(
    "extra",
    [{}, {"disable_ssl": True}],
    ids=["implicit-tls-by-default", "starttls-unless-disabled"],
)
def test_tls_is_required_unless_the_connection_disables_it(
    extra, monkeypatch, warehouse_params, period, briefs, recipients, sink, mailbox, tmp_path
):
    """Against a plain-text server the default connection refuses to send in the clear."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps({"conn_type": "smtp", "host": sink.host, "port": sink.port, "extra": extra}),
    )
    with pytest.raises(DeliveryError) as failure:
        run(warehouse_params, period, briefs, recipients, tmp_path)
    assert failure.value.report.results[0].result == "failed"
    assert "cannot connect" in failure.value.report.results[0].smtp_response
    assert read_mailbox(mailbox) == []
