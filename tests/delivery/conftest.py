"""Delivery fixtures: a real aiosmtpd server on loopback, tiny real PDFs, example recipients."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_helpers import BRIEF_IDS, EXECUTIVES, MOBILE_HEADS, make_briefs

from strategy_briefs.briefs.rendered import RenderedBrief
from strategy_briefs.delivery.recipients import Recipients, load_recipients
from strategy_briefs.periods import Period
from strategy_briefs_demo.sink import RunningSink, free_port, run_sink

# Each test delivers its own month so the session-wide ledger never mixes tests.
_months = itertools.count(1)


@pytest.fixture
def period() -> str:
    month = next(_months)
    return str(Period(2040, 1).shift(month - 1))


@pytest.fixture
def recipients_file(tmp_path: Path) -> Path:
    path = tmp_path / "recipients.yaml"
    document = {
        "sender": "战略简报 <strategy-briefs@example.com>",
        "allowed_domains": ["example.com"],
        "operators": ["data-ops@example.com"],
        "briefs": {"special_edition": EXECUTIVES, "mobile_banking": MOBILE_HEADS},
    }
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")  # YAML 1.2
    return path


@pytest.fixture
def recipients(recipients_file: Path) -> Recipients:
    return load_recipients(recipients_file, brief_ids=BRIEF_IDS)


@pytest.fixture
def briefs(tmp_path: Path, period: str) -> list[RenderedBrief]:
    return make_briefs(tmp_path / "render", period)


@pytest.fixture
def smtp_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """A loopback port, with AIRFLOW_CONN_SMTP_DEFAULT pointing at it (plain SMTP, no TLS)."""
    port = free_port()
    conn = RunningSink("127.0.0.1", port, Path(".")).airflow_conn_json()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn)
    return port


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    return tmp_path / "mailbox"


@pytest.fixture
def sink(smtp_port: int, mailbox: Path) -> Iterator[RunningSink]:
    with run_sink("127.0.0.1", smtp_port, mailbox) as running:
        yield running
