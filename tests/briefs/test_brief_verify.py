"""`verify_month`: an archived brief rendered again from the warehouse is byte-identical,
and a difference is named with its cause (data, templates). Real PostgreSQL (the marts'
contract tables), real renders, and an archive written by a real delivery to a loopback
SMTP server."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from strategy_briefs import cli, warehouse
from strategy_briefs.briefs.render import render_month
from strategy_briefs.config import Settings
from strategy_briefs.delivery import AirflowSmtpSender, deliver
from strategy_briefs.delivery.archive import MANIFEST_NAME
from strategy_briefs.delivery.recipients import parse_recipients
from strategy_briefs.delivery.verify import verify_month
from strategy_briefs_demo.sink import run_sink
from tests.helpers.demo_facts import PERIOD, demo_facts, demo_highlights, demo_history
from tests.helpers.marts_contract import contract_marts

LOB = "mobile_banking"  # one line of business keeps each render to two short PDFs
REASON = "手机银行客户数口径更正"


@pytest.fixture(scope="module")
def archived_month(tmp_path_factory):
    """The month rendered from the marts and delivered, its special edition re-issued."""
    facts = [f for f in demo_facts() if f.lob_code == LOB]
    highlights = [h for h in demo_highlights() if h.lob_code == LOB]
    root = tmp_path_factory.mktemp("verify")
    with contract_marts(facts, demo_history(facts), highlights) as params:
        warehouse.migrate(params)
        recipients = parse_recipients(
            {
                "sender": "战略简报 <strategy-briefs@example.com>",
                "allowed_domains": ["example.com"],
                "operators": ["data-ops@example.com"],
                "briefs": {"special_edition": ["president@example.com"], LOB: ["head@example.com"]},
            },
            source=root / "recipients.yaml",
            brief_ids={"special_edition", LOB},
        )
        with run_sink("127.0.0.1", 0, root / "mail") as sink:
            saved = os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT")
            os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
            try:
                _deliver(params, root, recipients, {})
                _deliver(params, root, recipients, {"special_edition": REASON}, REASON)
            finally:
                os.environ.pop("AIRFLOW_CONN_SMTP_DEFAULT")
                if saved is not None:
                    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = saved
        yield params, root / "archive"


def _deliver(params, root: Path, recipients, corrections, reason=None) -> None:
    rendered = render_month(params, PERIOD, root / "out", corrections=corrections)
    with AirflowSmtpSender() as sender:
        deliver(
            params,
            str(PERIOD),
            rendered,
            recipients,
            sender,
            archive_root=root / "archive",
            force_reissue_reason=reason,
            reissue_brief_ids=frozenset(corrections) or None,
        )


def _redder(folder: Path) -> Path:
    """A copy of the templates with another accent colour: every page changes."""
    templates = folder / "templates"
    shutil.copytree(Settings.from_env().templates_dir, templates)
    css = templates / "css" / "variables.css"
    css.write_text(css.read_text(encoding="utf-8").replace("#c7000b", "#b00000"), "utf-8")
    return templates


def _lines(verification) -> dict[str, str]:
    return {c.archived.brief_id: c.line() for c in verification.checks}


def test_the_latest_editions_render_again_byte_for_byte(archived_month):
    params, archive_root = archived_month
    verification = verify_month(params, PERIOD, archive_root)
    assert verification.ok
    assert _lines(verification) == {
        "special_edition": "special_edition edition 2: identical to special_edition.edition-2.pdf",
        LOB: f"{LOB} edition 1: identical to {LOB}.edition-1.pdf",
    }


def test_changed_templates_are_named_as_the_cause(archived_month, tmp_path):
    params, archive_root = archived_month
    verification = verify_month(params, PERIOD, archive_root, templates_dir=_redder(tmp_path))
    assert not verification.ok
    for line in _lines(verification).values():
        assert "differs from" in line and "templates changed" in line
        assert "data changed" not in line


def test_changed_data_is_named_as_the_cause_of_the_briefs_it_touches(archived_month):
    params, archive_root = archived_month
    with warehouse.connect(params) as conn:
        conn.execute(
            "update marts.brief_facts set value_base = value_base + 1, value_submitted = '3.86'"
            " where kpi_code = 'mb_customers'"
        )
    try:
        verification = verify_month(params, PERIOD, archive_root)
    finally:
        with warehouse.connect(params) as conn:
            conn.execute(
                "update marts.brief_facts set value_base = value_base - 1, value_submitted ="
                " '3.85' where kpi_code = 'mb_customers'"
            )
    assert not verification.ok
    for line in _lines(verification).values():
        assert "differs from" in line and "data changed" in line
        assert "templates changed" not in line


def test_an_edition_archived_without_provenance_says_so(archived_month, tmp_path):
    params, archive_root = archived_month
    copy = tmp_path / "archive"
    shutil.copytree(archive_root, copy)
    manifest = copy / str(PERIOD) / MANIFEST_NAME
    document = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in document["editions"]:
        entry["data_snapshot_sha256"] = entry["template_version"] = None
    manifest.chmod(0o644)
    manifest.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    verification = verify_month(params, PERIOD, copy, templates_dir=_redder(tmp_path))
    assert all("no provenance" in line for line in _lines(verification).values())


def test_a_month_without_an_archive_is_one_clear_error(archived_month, tmp_path):
    params, _ = archived_month
    with pytest.raises(FileNotFoundError, match=f"no archive manifest for {PERIOD}"):
        verify_month(params, PERIOD, tmp_path / "archive")


def test_verify_without_an_archive_prints_one_line_and_exits_2(
    warehouse_params, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("STRATEGY_BRIEFS_OUTPUT", str(tmp_path))
    assert cli.main(["verify", "--period", "2031-01"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no archive manifest for 2031-01" in err, err
