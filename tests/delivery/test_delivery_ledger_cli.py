"""`strategy-briefs ledger`: the operators' view of the ledger and how they settle 'unknown' rows."""

from __future__ import annotations

import pytest

from strategy_briefs import cli, warehouse
from strategy_briefs.delivery import ledger


def _unknown_row(params, period: str, recipient: str) -> None:
    """An intent whose process died before the outcome, found by the next delivery."""
    with warehouse.connect(params, autocommit=True) as conn:
        assert ledger.record_intent(
            conn,
            period=period,
            brief_id="mobile_banking",
            edition=1,
            recipient=recipient,
            pdf_sha256="cd" * 32,
            message_id=f"<{period}.{recipient}@example.com>",
            reissue_reason=None,
        )
        with ledger.period_lock(conn, period):
            ledger.mark_stale_intents_unknown(conn, period)


def test_ledger_prints_status_and_resolve_records_the_reason(warehouse_params, period, capsys):
    _unknown_row(warehouse_params, period, "head-a@example.com")
    _unknown_row(warehouse_params, period, "head-b@example.com")
    assert cli.main(["ledger", "--period", period]) == 0
    listing = capsys.readouterr().out
    assert "head-a@example.com" in listing and listing.count("unknown") == 2

    argv = ["ledger", "resolve", "--period", period, "--brief", "mobile_banking"]
    assert cli.main([*argv, "--recipient", "head-a@example.com", "--as", "sent",
                     "--reason", "Message-ID in the relay log"]) == 0  # fmt: skip
    assert cli.main([*argv, "--recipient", "head-b@example.com", "--as", "unsent",
                     "--reason", "not in the relay log"]) == 0  # fmt: skip
    rows = {r.recipient: r for r in ledger.ledger_rows(warehouse_params, period)}
    assert rows["head-a@example.com"].status == "accepted"
    assert rows["head-a@example.com"].sent_at is not None
    assert "Message-ID in the relay log" in rows["head-a@example.com"].smtp_response
    assert rows["head-b@example.com"].status == "failed"  # the next delivery sends it again
    assert "not in the relay log" in rows["head-b@example.com"].smtp_response

    # Settled rows are not 'unknown' any more: resolving again is an error, nothing changes.
    capsys.readouterr()
    again = [*argv, "--recipient", "head-a@example.com", "--as", "unsent", "--reason", "x"]
    assert cli.main(again) == 2
    assert "no 'unknown' ledger row" in capsys.readouterr().err
    assert ledger.ledger_rows(warehouse_params, period)[0].status == "accepted"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["ledger", "--period", "2020-13"], "2020-13"),
        (["ledger", "resolve", "--period", "2020-06", "--brief", "x"], "--recipient"),
        (["ledger", "resolve", "--period", "2020-06", "--as", "maybe"], "maybe"),
        (["ledger"], "--period"),
    ],
)
def test_bad_ledger_arguments_get_one_line_and_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as stopped:
        code = cli.main(argv)
        raise SystemExit(code)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err
