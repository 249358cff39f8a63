"""The progress display of `strategy-briefs run` and `demo` (strategy_briefs.progress), and
the command's usage exit code. Exit 1 (a held month) and 3 (a failed run) are checked on
the e2e runs that hold and fail a month anyway.

The rendering is checked on a real rich Console writing to a StringIO, as a terminal
(`force_terminal=True`) and as a pipe; the log capture with a real subprocess writing to
descriptors 1 and 2. What a real run shows (states read from Airflow's metadata database)
is checked on the e2e run's output (tests/e2e/test_monthly_run.py), not here.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from strategy_briefs import progress
from strategy_briefs.config import venv_executable
from strategy_briefs.periods import Period
from strategy_briefs.progress import InstanceRow, TaskLine

JUNE = Period(2020, 6)
T0 = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
ESCAPE = re.compile(r"\x1b\[")
TASK_IDS = [
    "resolve_period",
    "ingest.validate_submissions",
    "ingest.load_submission",
    "warehouse.units_seed_build",
    "warehouse.brief_facts_model_build",
    "delivery.quality_gate",
    "delivery.deliver_briefs",
]


def _row(task_id, state, start=0.0, took=1.5, map_index=-1) -> InstanceRow:
    started = T0 + timedelta(seconds=start) if state != "scheduled" else None
    ended = started + timedelta(seconds=took) if state in progress.FINISHED and started else None
    return InstanceRow(task_id, map_index, state, started, ended)


FAILED_RUN = [
    _row("resolve_period", "success", 0, 0.4),
    _row("ingest.validate_submissions", "success", 1, 2.0),
    *[_row("ingest.load_submission", "success", 3, 1.0 + i, map_index=i) for i in range(4)],
    _row("warehouse.units_seed_build", "success", 8, 3.0),
    _row("warehouse.brief_facts_model_build", "failed", 12, 75.0),
    _row("delivery.quality_gate", "upstream_failed", 90, 0.0),
    # delivery.deliver_briefs: no row yet (a task the run never reached)
]


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=120, highlight=False), out


def _shown(terminal: bool, rows) -> str:
    console, out = _console(terminal)
    screen = progress.Screen(console=console)
    log = Path("var/logs/2020-06-20261203T110000Z.log")
    with progress.MonthProgress(screen, JUNE, TASK_IDS, log, read=lambda: rows) as shown:
        shown.finish(rows, "failed")
    return out.getvalue()


def test_a_mapped_task_is_one_line_with_its_instances_done_out_of_all():
    rows = [_row("ingest.load_submission", "success", 0, 1, map_index=i) for i in range(3)]
    rows.append(_row("ingest.load_submission", "running", 0, map_index=3))
    [line] = progress.task_lines(["ingest.load_submission"], rows)
    assert (line.state, line.mapped_done, line.mapped_total) == ("running", 3, 4)
    assert line.ended is None  # not finished while one instance still runs


def test_the_combined_state_shows_the_most_pressing_part():
    assert progress.combined_state(["success", "failed", "running"]) == "failed"
    assert progress.combined_state(["success", "running", "scheduled"]) == "running"
    assert progress.combined_state(["success", progress.WAITING]) == "running"
    assert progress.combined_state(["success", "skipped"]) == "success"
    assert progress.combined_state(["skipped", "skipped"]) == "skipped"


def test_elapsed_reads_as_seconds_then_minutes():
    line = TaskLine("t", "success", T0, T0 + timedelta(seconds=185))
    assert progress.elapsed(line, T0) == "3m05s"
    assert progress.elapsed(TaskLine("t", "running", T0), T0 + timedelta(seconds=2.25)) == "2.2s"
    assert progress.elapsed(TaskLine("t", progress.WAITING), T0) == ""


def test_without_a_terminal_one_plain_line_per_task_in_the_dags_order():
    text = _shown(False, FAILED_RUN)
    assert not ESCAPE.search(text)
    lines = text.splitlines()
    assert lines[0] == (
        "2020-06  running strategy_briefs_monthly; log: var/logs/2020-06-20261203T110000Z.log"
    )
    tasks = [line.split()[1] for line in lines[1:-1]]
    assert tasks == TASK_IDS  # each task once, the unfinished ones too
    by_task = {line.split()[1]: line.split()[2:] for line in lines[1:-1]}
    assert by_task["ingest.load_submission"] == ["success", "4/4", "4.0s"]  # 3s..7s
    assert by_task["warehouse.brief_facts_model_build"] == ["failed", "1m15s"]
    assert by_task["delivery.deliver_briefs"] == ["waiting"]
    assert lines[-1] == "2020-06  failed in 1m30s"


def test_at_a_terminal_a_finished_stage_is_one_line_and_a_failed_one_lists_its_tasks():
    text = _shown(True, FAILED_RUN)
    assert ESCAPE.search(text)  # colours: it is a terminal
    plain = ESCAPE.sub("", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text))
    assert "log: var/logs/2020-06-20261203T110000Z.log" in plain
    words = [line.split() for line in plain.splitlines() if line.strip()]
    assert ["ingest", "success", "6.0s"] in words  # one line: 1s..7s
    assert not any(w[0] == "validate_submissions" for w in words)
    assert ["warehouse", "failed"] == [w for w in words if w[0] == "warehouse"][0][:2]
    assert ["brief_facts_model_build", "failed", "1m15s"] in words
    assert ["units_seed_build", "success", "3.0s"] in words
    assert plain.splitlines()[-1] == "2020-06  failed in 1m30s"


def test_a_running_stage_lists_its_tasks_and_a_waiting_one_does_not():
    rows = [
        _row("resolve_period", "success", 0, 0.4),
        _row("ingest.validate_submissions", "running", 1),
        _row("ingest.load_submission", "scheduled"),
    ]
    shown = progress.shown_lines(progress.task_lines(TASK_IDS, rows))
    names = [(line.task_id, is_stage) for line, is_stage in shown]
    assert names == [
        ("resolve_period", False),
        ("ingest", True),
        ("ingest.validate_submissions", False),
        ("ingest.load_submission", False),
        ("warehouse", True),
        ("delivery", True),
    ]


def test_the_history_shows_months_loaded_out_of_months_to_load():
    for terminal in (False, True):
        console, out = _console(terminal)
        screen = progress.Screen(console=console)
        with progress.HistoryProgress(screen, Path("var/logs/history-x.log")) as shown:
            for done, month in enumerate([Period(2019, 1), Period(2019, 2), Period(2019, 3)], 1):
                shown.month_loaded(month, done, 3)
            shown.building(3, 3)
        shown.finished(3)
        text = ESCAPE.sub("", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue()))
        assert "history  3/3 months loaded in" in text
        assert "history  3 month(s) loaded and built in" in text
        if not terminal:
            assert not ESCAPE.search(out.getvalue()) and len(text.splitlines()) == 3


def test_the_log_takes_descriptors_1_and_2_and_the_screen_keeps_its_own(tmp_path):
    screen_file = (tmp_path / "screen.txt").open("w", encoding="utf-8")
    screen = progress.Screen(screen_file)
    log = tmp_path / "logs" / "2020-06-x.log"
    with screen.captured(log):
        print("printed by python", flush=True)
        subprocess.run(
            [sys.executable, "-c", "import sys; print('child out'); print('child err', "
             "file=sys.stderr)"],
            check=True,
        )  # fmt: skip
        screen.say("shown to the operator")
    print("after the capture")  # back where it was (pytest's capture)
    screen.console.file.flush()
    screen_file.close()
    logged = log.read_text(encoding="utf-8")
    assert logged.splitlines() == ["printed by python", "child out", "child err"]
    assert (tmp_path / "screen.txt").read_text(encoding="utf-8") == "shown to the operator\n"


def test_a_stream_taken_during_one_month_writes_to_the_next_months_log(tmp_path):
    """What Airflow's logging does: it keeps the sys.stdout it found when first set up."""
    screen = progress.Screen(io.StringIO())
    first, second = tmp_path / "2020-06-x.log", tmp_path / "2020-07-x.log"
    with screen.captured(first):
        kept = sys.stdout
        print("june", file=kept, flush=True)
    with screen.captured(second):
        print("july", file=kept, flush=True)  # no "I/O operation on closed file"
    assert first.read_text().splitlines() == ["june"]
    assert second.read_text().splitlines() == ["july"]


def test_a_log_is_named_by_month_and_run_start():
    stamp = progress.run_stamp(datetime(2026, 12, 3, 11, 35, 12, tzinfo=UTC))
    assert progress.log_path(Path("/v"), "2020-06", stamp) == Path(
        "/v/logs/2020-06-20261203T113512Z.log"
    )


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = venv_executable("strategy-briefs")
    return subprocess.run([str(command), *args], capture_output=True, text=True)


def test_usage_errors_exit_2_and_help_lists_the_exit_codes():
    assert _cli("run").returncode == 2
    bad_month = _cli("run", "--period", "2020-13")
    assert bad_month.returncode == 2 and "2020-13" in bad_month.stderr
    shown = _cli("run", "--help")
    assert shown.returncode == 0
    for code in ("0  done", "1  the month is held", "2  usage", "3  the run failed"):
        assert code in shown.stdout, code


def test_the_command_exits_with_its_code_and_everything_it_printed(capsys):
    """The command leaves without the interpreter's teardown (`cli.console_script`): its
    exit code and its output into a pipe (block-buffered: lost unless flushed) must survive
    that, exactly as `main` gives them in-process."""
    from strategy_briefs import cli

    month = Path(__file__).parent / "fixtures" / "malformed" / "duplicate_row" / "2020-06"
    files = [str(path) for path in sorted(month.iterdir())]
    expected = cli.main(["validate", *files])
    printed = capsys.readouterr()
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    command = venv_executable("strategy-briefs")
    done = subprocess.run(
        [str(command), "validate", *files], capture_output=True, text=True, env=buffered
    )
    assert (done.returncode, done.stdout, done.stderr) == (expected, printed.out, printed.err)
    assert expected == 1 and "duplicate row" in done.stdout
