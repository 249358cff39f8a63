"""The product without the demo: where the demo package is not installed (the image), a run
that was given no mail server says what to set instead of failing on an import."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from strategy_briefs import cli
from strategy_briefs.config import Settings


def test_a_run_without_a_mail_server_or_the_demo_names_the_setting(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "strategy_briefs_demo.sink", None)  # not installed
    settings = replace(Settings.from_env(), output_dir=tmp_path)
    with pytest.raises(cli.CliError, match="set AIRFLOW_CONN_SMTP_DEFAULT to the mail server"):
        cli._demo_sink(settings)


def test_with_the_demo_a_run_without_a_mail_server_gets_the_loopback_sink(tmp_path):
    settings = replace(Settings.from_env(), output_dir=tmp_path)
    with cli._demo_sink(settings) as sink:
        assert sink.host == "127.0.0.1" and sink.port > 0
        assert sink.out_dir == settings.mail_sink_dir
