"""Operator notices are written to audit.operator_notices first, then sent (real warehouse,
real SMTP sink); one the mail server cannot take is logged at ERROR and stays unsent."""

from __future__ import annotations

import json
import logging
import socket

from strategy_briefs.config import Settings
from strategy_briefs.delivery.mailbox import read_mailbox
from strategy_briefs.delivery.recipients import load_recipients
from strategy_briefs.orchestration.notify import OperatorNotice, notify_operators
from strategy_briefs_demo.sink import run_sink


def notice(run_id: str) -> OperatorNotice:
    reason = "SMTP connection refused"
    line = f"strategy_briefs_monthly {run_id}: delivery.deliver_briefs failed: {reason}"
    return OperatorNotice(run_id, "delivery.deliver_briefs", reason, line)


def notice_row(db, run_id: str) -> tuple:
    return db.execute(
        "select task_id, reason, line, sent_at is not null, send_outcome"
        " from audit.operator_notices where run_id = %s",
        (run_id,),
    ).fetchall()


def closed_port() -> int:
    """A loopback port nothing listens on: the mail server is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_notice_during_an_smtp_outage_is_kept_unsent_and_logged_at_error(
    warehouse_params, db, monkeypatch, caplog
):
    down = {"conn_type": "smtp", "host": "127.0.0.1", "port": closed_port(),
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 5}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(down))
    sent_notice = notice("manual__outage")
    with caplog.at_level(logging.ERROR, logger="strategy_briefs.orchestration.notify"):
        assert notify_operators(sent_notice, warehouse_params) is False
    [(task_id, reason, line, sent, outcome)] = notice_row(db, "manual__outage")
    assert (task_id, reason, line, sent) == (
        "delivery.deliver_briefs",
        "SMTP connection refused",
        sent_notice.line,
        False,
    )
    assert outcome.startswith("failed")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any(sent_notice.line in r.getMessage() for r in errors)


def test_notice_is_recorded_then_marked_sent_when_the_server_accepts_it(
    warehouse_params, db, tmp_path, monkeypatch
):
    operators = load_recipients(Settings.from_env().recipients_file).operators
    with run_sink(port=0, out_dir=tmp_path) as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.airflow_conn_json())
        assert notify_operators(notice("manual__sent"), warehouse_params) is True
    [(_, _, line, sent, outcome)] = notice_row(db, "manual__sent")
    assert sent is True and outcome == ", ".join(["accepted"] * len(operators))
    assert sorted(m.delivered_to for m in read_mailbox(tmp_path)) == sorted(operators)


def test_a_broken_recipients_file_keeps_the_notice_unsent(
    warehouse_params, db, tmp_path, monkeypatch, caplog
):
    broken = tmp_path / "recipients.yaml"
    broken.write_text("operators: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("STRATEGY_BRIEFS_RECIPIENTS", str(broken))
    with caplog.at_level(logging.ERROR, logger="strategy_briefs.orchestration.notify"):
        assert notify_operators(notice("manual__broken"), warehouse_params) is False
    [(_, _, _, sent, outcome)] = notice_row(db, "manual__broken")
    assert sent is False and outcome.startswith("not sent:")
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_a_broken_recipients_file_falls_back_to_the_operators_in_the_environment(
    warehouse_params, db, tmp_path, monkeypatch
):
    broken = tmp_path / "recipients.yaml"
    broken.write_text("operators: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("STRATEGY_BRIEFS_RECIPIENTS", str(broken))
    monkeypatch.setenv(
        "STRATEGY_BRIEFS_FALLBACK_OPERATORS", "oncall@example.com, backup@example.com"
    )
    mailbox = tmp_path / "mailbox"
    with run_sink(port=0, out_dir=mailbox) as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.airflow_conn_json())
        assert notify_operators(notice("manual__fallback"), warehouse_params) is True
    [(_, _, _, sent, outcome)] = notice_row(db, "manual__fallback")
    assert sent is True and outcome == "accepted, accepted"
    delivered = read_mailbox(mailbox)
    assert sorted(m.delivered_to for m in delivered) == ["backup@example.com", "oncall@example.com"]
    assert all("recipients file is broken too" in m.message.get_content() for m in delivered)


def test_a_fallback_operator_with_a_second_address_is_refused(
    warehouse_params, db, tmp_path, monkeypatch
):
    broken = tmp_path / "recipients.yaml"
    broken.write_text("operators: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("STRATEGY_BRIEFS_RECIPIENTS", str(broken))
    monkeypatch.setenv("STRATEGY_BRIEFS_FALLBACK_OPERATORS", "oncall@example.com <spy@evil.org>")
    with run_sink(port=0, out_dir=tmp_path / "mailbox") as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.airflow_conn_json())
        assert notify_operators(notice("manual__smuggled"), warehouse_params) is False
        assert read_mailbox(tmp_path / "mailbox") == []
    [(_, _, _, sent, outcome)] = notice_row(db, "manual__smuggled")
    assert sent is False and "AddressError" in outcome
