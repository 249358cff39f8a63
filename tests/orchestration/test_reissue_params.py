"""The re-issue params, as the DAG's tasks and `strategy-briefs run` read them: one clear
error for a bad one, before anything is rendered or sent."""

from __future__ import annotations

import pytest

from strategy_briefs import cli
from strategy_briefs.orchestration import reissue, tasks


def test_a_reissue_reason_is_checked_as_the_pdf_prints_it():
    assert reissue.reissue_reason({}) is None
    assert reissue.reissue_reason({"reissue_reason": "ignored without force_reissue"}) is None
    params = {"force_reissue": True, "reissue_reason": "  贵金属\n库存口径更正 "}
    assert reissue.reissue_reason(params) == "贵金属 库存口径更正"
    with pytest.raises(ValueError, match="needs a reason"):
        reissue.reissue_reason({"force_reissue": True, "reissue_reason": " "})
    with pytest.raises(ValueError, match="at most 120"):
        reissue.reissue_reason({"force_reissue": True, "reissue_reason": "更" * 121})


def test_reissue_briefs_names_known_briefs_or_means_every_brief():
    params = {"force_reissue": True, "reissue_reason": "更正"}
    assert reissue.reissue_briefs(params) is None
    assert reissue.reissue_briefs({**params, "reissue_briefs": []}) is None
    named = {**params, "reissue_briefs": ["special_edition", " precious_metals"]}
    assert reissue.reissue_briefs(named) == {"special_edition", "precious_metals"}
    as_text = {**params, "reissue_briefs": "special_edition,precious_metals"}
    assert reissue.reissue_briefs(as_text) == {"special_edition", "precious_metals"}
    with pytest.raises(ValueError, match="unknown brief id gold_bars in reissue_briefs"):
        reissue.reissue_briefs({**params, "reissue_briefs": ["special_edition", "gold_bars"]})
    with pytest.raises(ValueError, match="needs force_reissue"):
        reissue.reissue_briefs({"reissue_briefs": ["special_edition"]})


def test_bad_reissue_params_fail_the_render_task_without_retries():
    from airflow.sdk.exceptions import AirflowFailException

    good = {"force_reissue": True, "reissue_reason": "更正", "reissue_briefs": ["credit_card"]}
    assert tasks.reissue_params(good) == ("更正", {"credit_card"})
    with pytest.raises(AirflowFailException, match="unknown brief id gold_bars"):
        tasks.reissue_params({**good, "reissue_briefs": ["gold_bars"]})
    with pytest.raises(AirflowFailException, match="needs a reason"):
        tasks.reissue_params({**good, "reissue_reason": ""})


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--force-reissue", "更正", "--reissue-brief", "special_edition,gold_bars"], "gold_bars"),
        (["--reissue-brief", "special_edition"], "--force-reissue"),
        (["--force-reissue", "更正", "--reissue-brief", ","], "names no brief"),
        (["--force-reissue", " "], "needs a reason"),
    ],
)
def test_bad_reissue_arguments_get_one_line_and_exit_2(argv, words, capsys, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("the DAG ran despite bad arguments")

    monkeypatch.setattr(cli, "run_month", must_not_run)
    assert cli.main(["run", "--period", "2020-06", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err, err


def test_reissue_arguments_become_the_dag_params(monkeypatch, capsys):
    received = {}

    def run_month(settings, period, *, conf=None):
        received.update(conf)
        return []

    monkeypatch.setattr(cli, "run_month", run_month)
    argv = ["run", "--period", "2020-06", "--force-reissue", "贵金属库存口径更正"]
    assert cli.main([*argv, "--reissue-brief", "special_edition,precious_metals"]) == 0
    assert received == {
        "dry_run": False,
        "force_reissue": True,
        "reissue_reason": "贵金属库存口径更正",
        "reissue_briefs": ["special_edition", "precious_metals"],
    }
