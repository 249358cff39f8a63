"""Operator notices go to the operators' list through the real SMTP connection."""

from __future__ import annotations

import asyncio

from strategy_briefs.config import Settings
from strategy_briefs.delivery.mailbox import read_mailbox
from strategy_briefs.delivery.recipients import load_recipients
from strategy_briefs.orchestration.notify import notify_delivery_deadline_missed, one_line
from strategy_briefs_demo.sink import run_sink


def test_deadline_alert_mails_each_operator_one_line(tmp_path, monkeypatch):
    operators = load_recipients(Settings.from_env().recipients_file).operators
    with run_sink(port=0, out_dir=tmp_path) as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.airflow_conn_json())
        asyncio.run(
            notify_delivery_deadline_missed({"run_id": "scheduled__2020-06"}, deadline_days=3)
        )
    received = read_mailbox(tmp_path)
    assert sorted(m.delivered_to for m in received) == sorted(operators)
    subject = str(received[0].message["Subject"])
    assert "scheduled__2020-06" in subject and "3 day(s)" in subject


def test_one_line_flattens_and_truncates():
    assert one_line("a\n  b\tc") == "a b c"
    assert len(one_line("x" * 1000, limit=50)) == 50
