"""What `strategy-briefs run` and `demo` show while they work: one line per stage and task.

Everything else the process prints (Airflow's and dbt's logs, and those of every process
they start) goes to one log file per month, `var/logs/<period>-<run>.log`, which the
display names; the history load of the demo has its own, `var/logs/history-<run>.log`.

Rules (one function each):
- log path:      `<var>/logs/<period>-<run>.log`, `<run>` the UTC time the run started
                 (`20261203T113512Z`), so a re-run never overwrites the log of the last one;
                 shown relative to the working directory when it lies under it
- captured:      file descriptors 1 and 2 point at the log while a month runs; the display
                 writes to a duplicate of the terminal's, taken before
- task states:   read once a second from Airflow's metadata database (`task_instance`),
                 for the run this process started (not an earlier run of the same month)
- task line:     a mapped task is one line: its instances' combined state, and how many of
                 them finished out of how many there are
- combined state: the most pressing state among the parts (failed before running before
                 waiting); finished and unfinished parts together are `running`
- stage line:    a task group is one line: its tasks' combined state, elapsed from its
                 first start to its last end (or now)
- live view:     at a terminal, a stage lists its tasks while it runs or when one of them
                 failed; a stage that finished, or has not started, is its one line
- plain lines:   without a terminal (CI, a pipe), one line per task as it finishes and the
                 rest when the run ends, in the DAG's order; rich writes no escape codes
- history:       the history load shows months loaded out of months to load, then the
                 dbt build over all of them
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from strategy_briefs.periods import Period

POLL_SECONDS = 1.0
WAITING = "waiting"  # a task instance without a state yet (Airflow's None)
FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
# The most pressing first: what the combined state of several parts shows.
PRESSING = (
    "failed",
    "upstream_failed",
    "up_for_retry",
    "running",
    "awaiting_input",
    "deferred",
    "up_for_reschedule",
    "restarting",
    "queued",
    "scheduled",
)
STYLES = {
    "success": "green",
    "failed": "bold red",
    "upstream_failed": "red",
    "up_for_retry": "yellow",
    "running": "cyan",
    "awaiting_input": "bold magenta",
    "skipped": "dim",
    WAITING: "dim",
}


# ---------------------------------------------------------------- the states


@dataclass(frozen=True)
class TaskLine:
    """One task of the month's run as the display shows it."""

    task_id: str  # 'ingest.load_submission'
    state: str  # Airflow's task-instance state, or WAITING
    started: datetime | None = None
    ended: datetime | None = None
    mapped_done: int = 0
    mapped_total: int = 0  # 0: not a mapped task

    @property
    def stage(self) -> str:
        """The task group ('' for a task outside any group)."""
        return self.task_id.split(".", 1)[0] if "." in self.task_id else ""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


@dataclass(frozen=True)
class InstanceRow:
    """One row of Airflow's `task_instance` for the run (a mapped task has several)."""

    task_id: str
    map_index: int
    state: str | None
    started: datetime | None
    ended: datetime | None


def combined_state(states: Sequence[str]) -> str:
    """The state several parts (mapped instances, a stage's tasks) show as one."""
    if len(set(states)) == 1:
        return states[0]
    for state in PRESSING:
        if state in states:
            return state
    if any(s in FINISHED for s in states) and any(s not in FINISHED for s in states):
        return "running"
    return "success" if "success" in states else states[0]


def task_lines(task_ids: Sequence[str], rows: Sequence[InstanceRow]) -> list[TaskLine]:
    """One line per task id, in the given (the DAG's) order, from the run's instance rows."""
    by_task: dict[str, list[InstanceRow]] = {}
    for row in rows:
        by_task.setdefault(row.task_id, []).append(row)
    return [_task_line(task_id, by_task.get(task_id, [])) for task_id in task_ids]


def _task_line(task_id: str, rows: list[InstanceRow]) -> TaskLine:
    mapped = [r for r in rows if r.map_index >= 0]
    parts = mapped or rows
    if not parts:
        return TaskLine(task_id, WAITING)
    states = [r.state or WAITING for r in parts]
    return TaskLine(
        task_id,
        combined_state(states),
        started=min((r.started for r in parts if r.started), default=None),
        ended=max((r.ended for r in parts if r.ended), default=None)
        if all(s in FINISHED for s in states)
        else None,
        mapped_done=sum(s in FINISHED for s in states) if mapped else 0,
        mapped_total=len(mapped),
    )


def stage_line(stage: str, tasks: Sequence[TaskLine]) -> TaskLine:
    """A task group as one line (its tasks' combined state, first start to last end)."""
    started = [t.started for t in tasks if t.started]
    ended = [t.ended for t in tasks if t.ended]
    state = combined_state([t.state for t in tasks])
    return TaskLine(
        stage,
        state,
        started=min(started, default=None),
        ended=max(ended, default=None) if state in FINISHED else None,
    )


def elapsed(line: TaskLine, now: datetime) -> str:
    """'0.8s', '42s', '3m05s'; '' for a task that has not started."""
    if line.started is None:
        return ""
    seconds = max(((line.ended or now) - line.started).total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def instance_rows(tis) -> list[InstanceRow]:
    """Airflow's task instances (ORM objects or the run's own list) as rows."""
    return [
        InstanceRow(
            ti.task_id,
            ti.map_index,
            str(ti.state.value if hasattr(ti.state, "value") else ti.state)
            if ti.state is not None
            else None,
            ti.start_date,
            ti.end_date,
        )
        for ti in tis
    ]


def run_rows(dag_id: str, logical_date: datetime, since: datetime) -> list[InstanceRow]:
    """The task instances of the run of `logical_date` created at or after `since`:
    `dag.test()` replaces an earlier run of the month, whose rows must not show."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TI)
            .join(DagRun, (DagRun.dag_id == TI.dag_id) & (DagRun.run_id == TI.run_id))
            .where(
                TI.dag_id == dag_id,
                DagRun.logical_date == logical_date,
                DagRun.run_after >= since,
            )
        ).all()
        return instance_rows(tis)


# ---------------------------------------------------------------- rendering


def plain_line(period: Period, line: TaskLine, now: datetime) -> str:
    """'2020-06  ingest.load_submission  success  4/4  3.2s' (no colour, no escape codes)."""
    mapped = f"{line.mapped_done}/{line.mapped_total}" if line.mapped_total else ""
    return f"{period}  {line.task_id:<52} {line.state:<16} {mapped:>5} {elapsed(line, now):>7}"


def shown_lines(lines: Sequence[TaskLine]) -> list[tuple[TaskLine, bool]]:
    """(line, is_stage) pairs of the live view: a stage lists its tasks while it runs or when
    one of them failed; a finished or not yet started stage is its one line."""
    shown: list[tuple[TaskLine, bool]] = []
    seen: set[str] = set()
    for line in lines:
        if not line.stage:
            shown.append((line, False))
            continue
        if line.stage in seen:
            continue
        seen.add(line.stage)
        tasks = [t for t in lines if t.stage == line.stage]
        stage = stage_line(line.stage, tasks)
        shown.append((stage, True))
        if _expanded(stage, tasks):
            shown += [(t, False) for t in tasks]
    return shown


def _expanded(stage: TaskLine, tasks: Sequence[TaskLine]) -> bool:
    failed = any(t.state in ("failed", "up_for_retry") for t in tasks)
    return failed or (stage.started is not None and not stage.finished)


def live_table(period: Period, lines: Sequence[TaskLine], now: datetime, log: Path) -> Group:
    """The terminal's view of the month: the log's path, stages, the running stage's tasks."""
    table = Table(box=None, show_header=False, pad_edge=False)
    for column in ("task", "state", "mapped", "elapsed"):
        table.add_column(column, justify="right" if column in ("mapped", "elapsed") else "left")
    for line, is_stage in shown_lines(lines):
        name = line.task_id if is_stage else "  " + line.task_id.rsplit(".", 1)[-1]
        mapped = f"{line.mapped_done}/{line.mapped_total}" if line.mapped_total else ""
        table.add_row(
            Text(name, style="bold" if is_stage else ""),
            Text(line.state, style=STYLES.get(line.state, "")),
            mapped,
            elapsed(line, now),
        )
    title = f"{period}  strategy_briefs_monthly  log: {shown_path(log)}"
    return Group(Text(title, style="bold"), table)


# ---------------------------------------------------------------- the terminal and the log


def run_stamp(now: datetime | None = None) -> str:
    """The `<run>` of a log's name: when the run started, UTC."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def log_path(var_dir: Path, name: str, stamp: str) -> Path:
    """`<var>/logs/<name>-<run>.log`, name a month ('2020-06') or 'history'."""
    return var_dir / "logs" / f"{name}-{stamp}.log"


def shown_path(path: Path) -> str:
    """`var/logs/…` when the operator runs from the project, else the full path."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _own_stream(stream: TextIO) -> TextIO:
    """A writer on a duplicate of `stream`'s descriptor: it keeps reaching the terminal
    while descriptors 1 and 2 point at a log."""
    try:
        fd = os.dup(stream.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation):
        return stream  # no descriptor (a test's StringIO): nothing to redirect under it
    return os.fdopen(fd, "w", encoding="utf-8", errors="replace", buffering=1)


class Screen:
    """Where the operator reads the display; everything else goes to `captured()`'s log."""

    def __init__(self, stream: TextIO | None = None, *, console: Console | None = None):
        self.console = console or Console(
            file=_own_stream(stream or sys.stderr), highlight=False, emoji=False
        )

    @property
    def interactive(self) -> bool:
        return self.console.is_terminal

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def writer(self) -> TextIO:
        """A text stream for others (the approval watch) that prints through the display."""
        return _ScreenWriter(self)

    @contextlib.contextmanager
    def captured(self, log: Path) -> Iterator[Path]:
        """Descriptors 1 and 2 (Airflow, dbt, their subprocesses) append to `log`, and so do
        `sys.stdout` and `sys.stderr`, which a test runner may have pointed elsewhere."""
        log.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        saved, streams = (os.dup(1), os.dup(2)), (sys.stdout, sys.stderr)
        try:
            with log.open("ab") as out:
                os.dup2(out.fileno(), 1)
                os.dup2(out.fileno(), 2)
                # Writers on the descriptors themselves, never closed: a logger set up during
                # this month keeps its stream, which must still work in the next month's.
                sys.stdout, sys.stderr = (_fd_writer(1), _fd_writer(2))
                yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = streams
            for fd, original in zip((1, 2), saved, strict=True):
                os.dup2(original, fd)
                os.close(original)


def _fd_writer(fd: int) -> TextIO:
    return open(fd, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)


class _ScreenWriter(io.TextIOBase):
    def __init__(self, screen: Screen):
        self.screen = screen

    def write(self, text: str) -> int:
        self.screen.console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
        return len(text)


# ---------------------------------------------------------------- one month


class MonthProgress:
    """Shows one month's run while `dag.test()` runs it (see the module docstring).

    `read` returns the run's task-instance rows; it is called from a thread of its own.
    """

    def __init__(
        self,
        screen: Screen,
        period: Period,
        task_ids: Sequence[str],
        log: Path,
        read: Callable[[], Sequence[InstanceRow]],
    ):
        self.screen, self.period, self.task_ids, self.log, self.read = (
            screen,
            period,
            list(task_ids),
            log,
            read,
        )
        self.lines = task_lines(self.task_ids, [])
        self.printed: set[str] = set()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.live: Live | None = None
        self.thread = threading.Thread(target=self._poll, name="month-progress", daemon=True)

    def __enter__(self) -> MonthProgress:
        if self.screen.interactive:
            self.live = Live(
                console=self.screen.console,
                get_renderable=self._renderable,
                transient=True,
                redirect_stdout=False,  # Airflow's output belongs in the log, not here
                redirect_stderr=False,
            )
            self.live.start()
        else:
            self.screen.say(
                f"{self.period}  running strategy_briefs_monthly; log: {shown_path(self.log)}"
            )
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        if self.live is not None:
            self.live.stop()

    def finish(self, rows: Sequence[InstanceRow], outcome: str) -> None:
        """The final states (read after the run ended), then one line on how it ended."""
        self.stop.set()
        self.thread.join(timeout=10)
        with self.lock:
            self.lines = task_lines(self.task_ids, rows)
        now = datetime.now(UTC)
        if self.live is not None:
            self.live.stop()
            self.live = None
            self.screen.console.print(live_table(self.period, self.lines, now, self.log))
        else:
            self._print_finished(now, everything=True)
        run = stage_line("", self.lines)
        self.screen.say(f"{self.period}  {outcome} in {elapsed(run, now) or '0s'}")

    def _poll(self) -> None:
        while not self.stop.wait(POLL_SECONDS):
            try:
                lines = task_lines(self.task_ids, self.read())
            except Exception:  # a busy metadata DB: the next look will do
                continue
            with self.lock:
                self.lines = lines
            if self.live is None:
                self._print_finished(datetime.now(UTC))

    def _print_finished(self, now: datetime, *, everything: bool = False) -> None:
        for line in self.lines:
            if line.task_id in self.printed or not (everything or line.finished):
                continue
            self.printed.add(line.task_id)
            self.screen.say(plain_line(self.period, line, now))

    def _renderable(self) -> Group:
        with self.lock:
            return live_table(self.period, self.lines, datetime.now(UTC), self.log)


# ---------------------------------------------------------------- the demo's history


class HistoryProgress:
    """Months loaded out of months to load, then the dbt build over all of them."""

    def __init__(self, screen: Screen, log: Path):
        self.screen, self.log = screen, log
        self.bar: Progress | None = None
        self.task = None
        self.started = datetime.now(UTC)

    def __enter__(self) -> HistoryProgress:
        self.screen.say(
            f"history  loading the sample months before the demo; log: {shown_path(self.log)}"
        )
        if self.screen.interactive:
            self.bar = Progress(
                TextColumn("history  {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.screen.console,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def month_loaded(self, month: Period, done: int, total: int) -> None:
        if self.bar is None:
            return  # plain: the count is printed once, when the loading ends
        if self.task is None:
            self.task = self.bar.add_task("months loaded", total=total)
        self.bar.update(self.task, completed=done, description=f"months loaded ({month})")

    def building(self, done: int, total: int) -> None:
        now = datetime.now(UTC)
        took = elapsed(TaskLine("", "success", self.started, now), now)
        self.screen.say(f"history  {done}/{total} months loaded in {took}; dbt build over them")
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, description="dbt build of all months")

    def finished(self, total: int) -> None:
        now = datetime.now(UTC)
        took = elapsed(TaskLine("", "success", self.started, now), now)
        self.screen.say(f"history  {total} month(s) loaded and built in {took}")
