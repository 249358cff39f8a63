"""Loading: each file is staged on its own, then the whole month is published at once.

A month is all or nothing: its four lines of business either all become the month's
figures, or the month stays exactly as it was before the run.

1. `stage_submission` validates while it streams: inside one transaction it replaces the
   run's earlier try of the line in the staging area (`raw.staged_loads`,
   `raw.staged_figures`, keyed by run so two runs never mix) and COPYs the rows there.
   Only when the whole file has been read are all problems known; if there are any, the
   transaction is rolled back and a separate 'rejected' audit row records the attempt.
2. `publish_month` swaps the month in one transaction: for each line its 'loaded' audit
   row, the delete of its month in `raw.lob_figures` and the insert of its staged rows,
   and its highlights; then the staged files go. A refusal there is a 'rejected' audit row
   of the line with the database's reason, and nothing is published.
3. A run killed or failed anywhere before the publish commits leaves `raw.lob_figures`
   as it was; a later publish of the month supersedes an older run's staged files.

Either way a file's load is three steps, each a function: begin (`_begin_stage`, or
`_begin_line` for `load_submission`'s one line loaded on its own, straight into
raw.lob_figures in one transaction), copy (`_copy`: the checked rows as COPY data while the
file is read; what the server refused comes back as a value) and, when the file had
problems or the server refused it, reject (roll back, then `_rejection`: the 'rejected'
audit row and the error to raise).

A file loaded twice leaves the same rows. Values travel only as COPY data or query
parameters; identifiers are `psycopg.sql.Identifier`s.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.catalogue import Catalogue
from strategy_briefs.hashing import file_sha256
from strategy_briefs.ingest.incoming import escaped, has_control_characters, refusal
from strategy_briefs.ingest.validation import (
    SUBMISSION_SUFFIXES,
    Problem,
    SubmissionCheck,
    SubmissionInvalid,
    validate_file,
)
from strategy_briefs.periods import Period, PeriodError
from strategy_briefs.warehouse import WarehouseParams, connect

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
FIGURES_TABLE = "lob_figures"
AUDIT_TABLE = "load_audit"
STAGED_LOADS_TABLE = "staged_loads"  # the staging area (migration 008)
STAGED_FIGURES_TABLE = "staged_figures"
APPLICATION_NAME = "strategy_briefs.ingest"
FIGURE_COLUMNS = (  # raw.lob_figures' and raw.staged_figures' own columns
    "period",  # the first three are constant per file
    "lob_code",
    "source_file",
    "kpi_code",  # then validation.RowTuple, in its order
    "entity_type",
    "entity_code",
    "value_submitted",
    "unit_submitted",
    "value_base",
    "qualifier",
    "note",
    "is_demo_data",
    "source_row",
)
STAGED_COLUMNS = ("stage_id", *FIGURE_COLUMNS)  # as the staging COPY sends them
LOADED_COLUMNS = ("load_id", *FIGURE_COLUMNS)  # as a line loaded on its own sends them
PROGRESS_ROWS = 10_000  # on_progress is called after every this many rows
_COPY_CHUNK_ROWS = 2_000  # rows per write: ~200 kB, enough to keep the server busy
_NULL = "\\N"  # COPY text format's null
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(text: str) -> str:
    """`text` as a COPY text-format field. Nearly every text needs no escaping, and
    asking is cheaper than translating: tab, newline and CR are not printable."""
    if text.isprintable() and "\\" not in text:
        return text
    return text.translate(_COPY_ESCAPES)


@dataclass(frozen=True)
class LoadResult:
    load_id: int
    period: str
    lob_code: str
    source_file: str
    source_sha256: str
    source_size: int
    source_encoding: str
    row_count: int
    replaced_rows: int  # rows of the same (period, lob_code) the load replaced
    demo_rows: int
    seconds: float


@dataclass(frozen=True)
class LoadProgress:
    rows: int  # rows handed to the COPY so far
    backend_pid: int  # the loading connection's server process


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes, as `raw.load_audit` records a source file."""
    return file_sha256(path), path.stat().st_size


def source_name(path: Path) -> str:
    """How a file is recorded: `<YYYY-MM>/<file>` (no machine-specific prefix)."""
    return f"{path.parent.name}/{path.name}"


def _table(name: str):
    from psycopg import sql

    return sql.Identifier(RAW_SCHEMA, name)


def _check_target(period: str, lob_code: str, catalogue: Catalogue) -> None:
    if str(Period.parse(period)) != period:  # not even surrounding spaces
        raise PeriodError(f"period must look like YYYY-MM (e.g. 2020-06), got {period!r}")
    if lob_code not in catalogue.lines_of_business:
        raise ValueError(f"unknown line of business {lob_code!r}")


def record_rejection(
    params: WarehouseParams,
    path: Path,
    *,
    period: str,
    lob_code: str,
    problems: list[Problem],
    encoding: str | None = None,
    row_count: int = 0,
    run_id: str | None = None,
) -> int:
    """Write a 'rejected' audit row (its own transaction); returns its load_id."""
    from psycopg import sql

    readable = refusal(path) is None and path.is_file()  # a refused entry is never opened
    sha256, size = file_digest(path) if readable else ("", 0)
    with connect(params, application_name=APPLICATION_NAME) as conn:
        row = conn.execute(
            sql.SQL(
                "insert into {} (period, lob_code, source_file, source_sha256, source_size,"
                " source_encoding, row_count, status, problem_count, problems, run_id)"
                " values (%s, %s, %s, %s, %s, %s, %s, 'rejected', %s, %s, %s)"
                " returning load_id"
            ).format(_table(AUDIT_TABLE)),
            (
                Period.parse(period).first_day,
                lob_code,
                source_name(path),
                sha256,
                size,
                encoding,
                row_count,
                len(problems),
                json.dumps([str(p) for p in problems], ensure_ascii=False),
                run_id,
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


class LoadRefused(SubmissionInvalid):
    """The warehouse refused a file that validation passed (a constraint, a permission).

    Recorded as a 'rejected' audit row with the database's reason; a retry cannot succeed.
    """


def refusal_problem(path: Path, error: Exception) -> Problem:
    """The database's reason for refusing a load, as the file's problem."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(error).splitlines()[0]
    sqlstate = getattr(error, "sqlstate", None) or "-"
    return Problem(
        str(path), None, None, f"the warehouse refused the load (SQLSTATE {sqlstate}): {primary}"
    )


@dataclass(frozen=True)
class StagedFile:
    """One file COPYed into the staging area for a run: what a publish moves."""

    stage_id: int
    run_key: str
    period: str
    lob_code: str
    source_file: str
    source_sha256: str
    source_size: int
    source_encoding: str
    row_count: int
    demo_rows: int


class MonthNotStaged(RuntimeError):
    """The publish found a line of the month not staged by its run: nothing was published.

    A retry cannot stage it; the line's load has to run (again) first.
    """


def fresh_run_key() -> str:
    """A staging key for a load outside Airflow (no run id): unique, so nothing mixes."""
    import uuid

    return f"direct-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class _Source:
    """A submission file as its audit and staging rows record it."""

    path: Path
    name: str  # `<YYYY-MM>/<file>`
    sha256: str  # '' for an entry refused unopened
    size: int

    @classmethod
    def of(cls, path: Path) -> _Source:
        readable = refusal(path) is None and path.is_file()  # a refused entry is never opened
        sha256, size = file_digest(path) if readable else ("", 0)
        return cls(path, source_name(path), sha256, size)


@dataclass(frozen=True)
class _Submission:
    """One line's file for a month, opened for loading: its record and its checker."""

    source: _Source
    check: SubmissionCheck
    period: str
    lob_code: str
    run_id: str | None

    @classmethod
    def open(
        cls, path: Path, catalogue: Catalogue, period: str, lob_code: str, run_id: str | None
    ) -> _Submission:
        _check_target(period, lob_code, catalogue)
        path = Path(path)
        check = SubmissionCheck(path, catalogue, period=period, lob_code=lob_code)
        return cls(_Source.of(path), check, period, lob_code, run_id)


@dataclass(frozen=True)
class _Copied:
    """What a COPY of a file's checked rows did: rows sent, and the server's refusal."""

    rows: int
    demo_rows: int
    refused: Exception | None  # a psycopg error the COPY ended with (a constraint, say)


def _copy_statement(table: str, columns: tuple[str, ...]):
    from psycopg import sql

    return sql.SQL("copy {} ({}) from stdin").format(
        _table(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def _begin_stage(conn, run_key: str, period: str, lob_code: str, source: _Source) -> int:
    """Begin: the run's staged file for the line, replacing an earlier try; its stage_id."""
    # One try per (run, period, line) at a time: a zombie try and its retry cannot overlap.
    conn.execute(
        "select pg_advisory_xact_lock(hashtext(%s))",
        (f"raw.{STAGED_LOADS_TABLE}|{run_key}|{period}|{lob_code}",),
    )
    conn.execute(
        "delete from raw.staged_loads where run_key = %s and period = %s and lob_code = %s",
        (run_key, Period.parse(period).first_day, lob_code),
    )
    row = conn.execute(
        "insert into raw.staged_loads (run_key, period, lob_code, source_file, source_sha256,"
        " source_size, row_count) values (%s, %s, %s, %s, %s, %s, 0) returning stage_id",
        (
            run_key,
            Period.parse(period).first_day,
            lob_code,
            source.name,
            source.sha256,
            source.size,
        ),
    ).fetchone()
    return int(row[0])


def _begin_line(conn, period: str, lob_code: str, source: _Source, run_id) -> tuple[int, int]:
    """Begin, for a line loaded on its own: its 'loaded' audit row (counts set after the
    COPY) and the delete of its month in raw.lob_figures; (load_id, rows replaced)."""
    _lock_month(conn, period)
    load_id = _audit_loaded(conn, period, lob_code, source.name, source.sha256, source.size, run_id)
    replaced = conn.execute(
        "delete from raw.lob_figures where period = %s and lob_code = %s",
        (Period.parse(period).first_day, lob_code),
    ).rowcount
    return load_id, replaced


def _copy(conn, table: str, prefix: str, check: SubmissionCheck, on_progress) -> _Copied:
    """Copy: the file's checked rows into `table` (raw.lob_figures' columns after those the
    `prefix` sends). Every row of the file is read, whatever the server says: only then are
    all of its problems known. A lost connection raises (nothing changed, a retry may do)."""
    import psycopg

    columns = STAGED_COLUMNS if table == STAGED_FIGURES_TABLE else LOADED_COLUMNS
    rows = check.rows()
    sent = demo = 0
    try:
        with conn.cursor().copy(_copy_statement(table, columns)) as copy:
            for chunk, chunk_rows, chunk_demo in _copy_chunks(prefix, rows):
                copy.write(chunk)
                sent, demo = sent + chunk_rows, demo + chunk_demo
                if on_progress is not None and not sent % PROGRESS_ROWS:
                    on_progress(LoadProgress(sent, conn.info.backend_pid))
    except psycopg.OperationalError:
        raise
    except psycopg.Error as error:  # the server refused a row: read on for every problem
        for _ in rows:
            pass
        return _Copied(sent, demo, error)
    finally:
        rows.close()
    return _Copied(sent, demo, None)


def _copy_chunks(prefix: str, rows) -> Iterator[tuple[str, int, int]]:
    """The rows as COPY text, `_COPY_CHUNK_ROWS` a chunk: (text, rows, demo rows)."""
    buffer: list[str] = []
    demo = 0
    for kpi, etype, ecode, value, unit, base, qualifier, note, is_demo, source_row in rows:
        # One f-string a row: the cheapest formatting measured (1M rows: ~1.5 s of CPU;
        # psycopg's write_row ~2.2 s). libpq hands each chunk to the socket and returns,
        # so the server parses one chunk while the validator checks the next.
        buffer.append(
            f"{prefix}{kpi}\t{etype}\t{_copy_text(ecode)}\t{value}\t"
            f"{unit}\t{base!s}\t{qualifier or _NULL}\t"
            f"{_NULL if note is None else _copy_text(note)}\t"
            f"{'t' if is_demo else 'f'}\t{source_row}\n"
        )
        demo += is_demo
        if len(buffer) == _COPY_CHUNK_ROWS:
            yield "".join(buffer), len(buffer), demo
            buffer.clear()
            demo = 0
    if buffer:
        yield "".join(buffer), len(buffer), demo


def _rejection(
    params, source: _Source, check: SubmissionCheck, copied: _Copied, *, period, lob_code, run_id
) -> SubmissionInvalid:
    """Reject, after the rollback: the 'rejected' audit row, and the error to raise with the
    file's problems (or the server's refusal when validation found none)."""
    problems = check.problems
    refused = not problems
    if refused:
        problems = [refusal_problem(source.path, copied.refused)]
    rejected_id = record_rejection(
        params,
        source.path,
        period=period,
        lob_code=lob_code,
        problems=problems,
        encoding=check.encoding,
        row_count=check.data_rows,
        run_id=run_id,
    )
    return (LoadRefused if refused else SubmissionInvalid)(problems, rejected_id)


def _refused_outside_copy(params, source: _Source, error, *, period, lob_code, run_id):
    """A refusal before or after the COPY (a permission, a missing table): audited."""
    problems = [refusal_problem(source.path, error)]
    rejected_id = record_rejection(
        params, source.path, period=period, lob_code=lob_code, problems=problems, run_id=run_id
    )
    return LoadRefused(problems, rejected_id)


def _finish_stage(conn, stage_id: int, copied: _Copied, encoding: str | None) -> None:
    conn.execute(
        "update raw.staged_loads set row_count = %s, demo_rows = %s, source_encoding = %s"
        " where stage_id = %s",
        (copied.rows, copied.demo_rows, encoding, stage_id),
    )


def _finish_line(conn, load_id: int, copied: _Copied, encoding: str | None) -> None:
    conn.execute(
        "update raw.load_audit set row_count = %s, source_encoding = %s where load_id = %s",
        (copied.rows, encoding, load_id),
    )


def _load_file(
    params, submission: _Submission, *, table, begin, finish, on_progress
) -> tuple[int, int, _Copied]:
    """One file's transaction: begin (`begin(conn)`: the id its rows carry, the rows it
    replaced), copy, then `finish` (its counts and encoding, by that id) and commit; or
    reject: roll back, audit 'rejected' and raise. A lost connection raises as it is."""
    import psycopg

    source, check, period = submission.source, submission.check, submission.period
    context = {"period": period, "lob_code": submission.lob_code, "run_id": submission.run_id}
    with connect(params, application_name=APPLICATION_NAME) as conn:
        try:
            row_id, replaced = begin(conn)
            lob_code, name = _copy_text(submission.lob_code), _copy_text(source.name)
            prefix = f"{row_id}\t{period}-01\t{lob_code}\t{name}\t"
            copied = _copy(conn, table, prefix, check, on_progress)
            if copied.refused is None and not check.problems:
                finish(conn, row_id, copied, check.encoding)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as error:  # outside the COPY: a permission, a missing table
            conn.rollback()
            raise _refused_outside_copy(params, source, error, **context) from error
        if copied.refused is not None or check.problems:
            conn.rollback()
            raise _rejection(params, source, check, copied, **context) from None
    return row_id, replaced, copied


def stage_submission(
    params: WarehouseParams,
    path: Path,
    *,
    period: str,
    lob_code: str,
    catalogue: Catalogue,
    run_key: str,
    run_id: str | None = None,
    on_progress: Callable[[LoadProgress], None] | None = None,
) -> StagedFile:
    """Validate one submission while COPYing it into the staging area under `run_key`, in
    one transaction that replaces the run's earlier try of the line. raw.lob_figures is not
    touched: `publish_month` moves the staged month.

    Raises `SubmissionInvalid` (every problem, the id of the 'rejected' audit row) when the
    file has problems, `LoadRefused` when the warehouse refused it; then nothing is staged.
    """

    started = time.perf_counter()
    submission = _Submission.open(path, catalogue, period, lob_code, run_id)
    source, check = submission.source, submission.check
    stage_id, _, copied = _load_file(
        params,
        submission,
        table=STAGED_FIGURES_TABLE,
        begin=lambda conn: (_begin_stage(conn, run_key, period, lob_code, source), 0),
        finish=_finish_stage,
        on_progress=on_progress,
    )
    log.info(
        "staged %s: %d rows (%d demo) for %s %s, run %s, stage_id %d, %.2fs",
        source.name,
        copied.rows,
        copied.demo_rows,
        period,
        lob_code,
        run_key,
        stage_id,
        time.perf_counter() - started,
    )
    return StagedFile(
        stage_id,
        run_key,
        period,
        lob_code,
        source.name,
        source.sha256,
        source.size,
        check.encoding or "",
        copied.rows,
        copied.demo_rows,
    )


def _staged_lines(conn, run_key: str, period: str, lob_codes: list[str]) -> list[StagedFile]:
    """The run's staged files of the lines, in `lob_codes` order; `MonthNotStaged` if any
    line is missing."""
    rows = conn.execute(
        "select stage_id, lob_code, source_file, source_sha256, coalesce(source_size, 0),"
        " coalesce(source_encoding, ''), row_count, demo_rows from raw.staged_loads"
        " where run_key = %s and period = %s and lob_code = any(%s)",
        (run_key, Period.parse(period).first_day, list(lob_codes)),
    ).fetchall()
    staged = {row[1]: StagedFile(row[0], run_key, period, *row[1:]) for row in rows}
    missing = [code for code in lob_codes if code not in staged]
    if not staged and _published_by(conn, run_key, period, lob_codes):
        return []  # a retry after a publish whose commit the connection did not report
    if missing:
        raise MonthNotStaged(
            f"{period}: run {run_key} has not staged {', '.join(missing)}; nothing of the "
            "month was published. Run the load of every line of business, then publish again"
        )
    return [staged[code] for code in lob_codes]


def _published_by(conn, run_key: str, period: str, lob_codes: list[str]) -> bool:
    """Whether every line's current figures of the month are the run's own publish."""
    (count,) = conn.execute(
        "select count(*) from (select distinct on (lob_code) lob_code, run_id"
        " from raw.load_audit where period = %s and lob_code = any(%s) and status = 'loaded'"
        " and submission = 'figures' order by lob_code, load_id desc) latest"
        " where run_id = %s",
        (Period.parse(period).first_day, list(lob_codes), run_key),
    ).fetchone()
    return count == len(lob_codes)


def _lock_month(conn, period: str) -> None:
    """One writer of a month's figures at a time; other months write in parallel."""
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"raw.{FIGURES_TABLE}|{period}",))


def _audit_loaded(
    conn, period, lob_code, source_file, sha256, size, run_id, row_count=0, encoding=None
) -> int:
    """The 'loaded' audit row the line's rows in raw.lob_figures point to; its load_id."""
    row = conn.execute(
        "insert into raw.load_audit (period, lob_code, source_file, source_sha256, source_size,"
        " source_encoding, row_count, status, run_id)"
        " values (%s, %s, %s, %s, %s, %s, %s, 'loaded', %s) returning load_id",
        (
            Period.parse(period).first_day,
            lob_code,
            source_file,
            sha256,
            size,
            encoding,
            row_count,
            run_id,
        ),
    ).fetchone()
    return int(row[0])


def _swap_line(conn, staged: StagedFile, run_id: str | None) -> tuple[int, int]:
    """Replace the line's month in raw.lob_figures by its staged rows, with the 'loaded'
    audit row they point to; (load_id, rows replaced)."""
    from psycopg import sql

    month = Period.parse(staged.period).first_day
    load_id = _audit_loaded(
        conn,
        staged.period,
        staged.lob_code,
        staged.source_file,
        staged.source_sha256,
        staged.source_size,
        run_id,
        staged.row_count,
        staged.source_encoding or None,
    )
    replaced = conn.execute(
        "delete from raw.lob_figures where period = %s and lob_code = %s",
        (month, staged.lob_code),
    ).rowcount
    columns = sql.SQL(", ").join(map(sql.Identifier, FIGURE_COLUMNS))
    conn.execute(
        sql.SQL("insert into {} (load_id, {}) select %s, {} from {} where stage_id = %s").format(
            _table(FIGURES_TABLE), columns, columns, _table(STAGED_FIGURES_TABLE)
        ),
        (load_id, staged.stage_id),
    )
    return load_id, replaced


def _drop_staged(conn, period: str, staged: list[StagedFile]) -> None:
    """Remove the published files from the staging area, and every older run's files of the
    same lines and month: this publish supersedes them (their own publish would now find
    the month not staged, and change nothing)."""
    conn.execute(
        "delete from raw.staged_loads where period = %s and lob_code = any(%s)"
        " and (stage_id = any(%s) or staged_at < (select min(staged_at) from raw.staged_loads"
        " where stage_id = any(%s)))",
        (
            Period.parse(period).first_day,
            [s.lob_code for s in staged],
            [s.stage_id for s in staged],
            [s.stage_id for s in staged],
        ),
    )


def _publish(
    params: WarehouseParams,
    period: str,
    lob_codes: list[str],
    *,
    run_key: str,
    root: Path,
    highlights: dict | None,
    run_id: str | None,
) -> list[LoadResult]:
    """One transaction: every line's staged rows replace its month in raw.lob_figures (and,
    given `highlights`, its highlights); a refused line is audited 'rejected' under
    `root`/<source_file> and nothing is published."""
    import psycopg

    started = time.perf_counter()
    results: list[LoadResult] = []
    current: StagedFile | None = None
    with connect(params, application_name=APPLICATION_NAME) as conn:
        try:
            with conn.transaction():
                _lock_month(conn, period)
                staged = _staged_lines(conn, run_key, period, lob_codes)
                for current in staged:
                    load_id, replaced = _swap_line(conn, current, run_id)
                    if highlights is not None:
                        from strategy_briefs.ingest.highlights import replace_highlights

                        replace_highlights(
                            conn, period, current.lob_code, highlights[current.lob_code], run_id
                        )
                    results.append(_result(current, load_id, replaced, started))
                if staged:
                    _drop_staged(conn, period, staged)
                else:
                    log.info("%s: already published by run %s", period, run_key)
        except psycopg.OperationalError:
            raise  # the connection or the server failed: nothing was published
        except psycopg.Error as error:
            if current is None:
                raise
            path = root / current.source_file
            problems = [refusal_problem(path, error)]
            rejected_id = record_rejection(
                params,
                path,
                period=period,
                lob_code=current.lob_code,
                problems=problems,
                encoding=current.source_encoding or None,
                row_count=current.row_count,
                run_id=run_id,
            )
            raise LoadRefused(problems, rejected_id) from error
    for result in results:
        log.info(
            "published %s: %d rows (%d demo) for %s %s, replaced %d, load_id %d",
            result.source_file,
            result.row_count,
            result.demo_rows,
            period,
            result.lob_code,
            result.replaced_rows,
            result.load_id,
        )
    return results


def _result(staged: StagedFile, load_id: int, replaced: int, started: float) -> LoadResult:
    return LoadResult(
        load_id=load_id,
        period=staged.period,
        lob_code=staged.lob_code,
        source_file=staged.source_file,
        source_sha256=staged.source_sha256,
        source_size=staged.source_size,
        source_encoding=staged.source_encoding,
        row_count=staged.row_count,
        replaced_rows=replaced,
        demo_rows=staged.demo_rows,
        seconds=time.perf_counter() - started,
    )


def publish_month(
    params: WarehouseParams,
    period: str,
    lob_codes: list[str],
    *,
    run_key: str,
    catalogue: Catalogue,
    incoming_dir: Path,
    run_id: str | None = None,
) -> list[LoadResult]:
    """Swap the month: the run's staged files of `lob_codes` replace the month's figures
    in raw.lob_figures, and each line's highlights file its highlights, in one transaction.

    Before it commits nothing of the month has changed, whatever kills it. Raises
    `MonthNotStaged` when a line is not staged by `run_key`, `SubmissionInvalid` when a
    highlights file has problems, `LoadRefused` when the warehouse refused a line (audited
    'rejected'); `psycopg.OperationalError` when the server went away (a retry may succeed).
    """
    from strategy_briefs.ingest.highlights import highlights_to_publish

    highlights = highlights_to_publish(
        params, incoming_dir, period, lob_codes, catalogue, run_id=run_id
    )
    return _publish(
        params,
        period,
        lob_codes,
        run_key=run_key,
        root=Path(incoming_dir),
        highlights=highlights,
        run_id=run_id,
    )


def load_submission(
    params: WarehouseParams,
    path: Path,
    *,
    period: str,
    lob_code: str,
    catalogue: Catalogue,
    run_id: str | None = None,
    on_progress: Callable[[LoadProgress], None] | None = None,
) -> LoadResult:
    """Validate and load one submission on its own, in one transaction: begin (its 'loaded'
    audit row, the delete of the line's month), copy (the checked rows straight into
    raw.lob_figures), then commit, or reject (roll back, audit 'rejected', raise).

    A line alone is all or nothing by its one transaction, so its rows are written once; a
    month's run stages every line, then `publish_month`. Its highlights are left alone.
    Raises as `stage_submission`; then nothing of the month changed.
    """

    started = time.perf_counter()
    submission = _Submission.open(path, catalogue, period, lob_code, run_id)
    source, check = submission.source, submission.check
    load_id, replaced, copied = _load_file(
        params,
        submission,
        table=FIGURES_TABLE,
        begin=lambda conn: _begin_line(conn, period, lob_code, source, run_id),
        finish=_finish_line,
        on_progress=on_progress,
    )
    result = LoadResult(
        load_id=load_id,
        period=period,
        lob_code=lob_code,
        source_file=source.name,
        source_sha256=source.sha256,
        source_size=source.size,
        source_encoding=check.encoding or "",
        row_count=copied.rows,
        replaced_rows=replaced,
        demo_rows=copied.demo_rows,
        seconds=time.perf_counter() - started,
    )
    log.info(
        "loaded %s: %d rows (%d demo) for %s %s, replaced %d, load_id %d",
        source.name,
        result.row_count,
        result.demo_rows,
        period,
        lob_code,
        replaced,
        load_id,
    )
    return result


@dataclass(frozen=True)
class MonthFolder:
    """A month's folder as scanned: the files that may be read, and the refused entries."""

    submissions: dict[str, Path]  # name stem -> file
    refused: list[Problem]  # one per entry not read (ingest/incoming.py rules)

    @property
    def refused_stems(self) -> set[str]:
        return {Path(p.file).stem for p in self.refused}


def scan_month(incoming_dir: Path, period: str) -> MonthFolder:
    """The month's files by name stem (`mobile_banking` -> .../2020-06/mobile_banking.csv).

    Skips hidden files and Excel's `~$` lock files; two files with one stem is an error.
    Symlinks, entries resolving outside `incoming_dir`, non-regular files and names with
    control characters are refused without being opened.
    """
    folder = Path(incoming_dir) / period
    found: dict[str, Path] = {}
    refused: list[Problem] = []
    if not folder.is_dir():
        return MonthFolder(found, refused)
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")):
            continue
        if not has_control_characters(path.name) and path.suffix.lower() not in SUBMISSION_SUFFIXES:
            continue
        reason = refusal(path, incoming_dir)
        if reason is not None:
            refused.append(Problem(str(path), None, None, reason))
            continue
        if path.stem in found:
            raise ValueError(
                f"two submissions for {escaped(path.stem)} in {escaped(str(folder))}: "
                f"{escaped(found[path.stem].name)} and {escaped(path.name)}; keep one"
            )
        found[path.stem] = path
    return MonthFolder(found, refused)


def find_submissions(incoming_dir: Path, period: str) -> dict[str, Path]:
    """The month's files that may be read, by name stem (see `scan_month`)."""
    return scan_month(incoming_dir, period).submissions


def check_month(
    incoming_dir: Path, period: str, catalogue: Catalogue
) -> tuple[dict[str, Path], list[Problem]]:
    """The month's submissions and the problems of all of them (nothing is loaded)."""
    folder = scan_month(incoming_dir, period)
    submissions = folder.submissions
    problems: list[Problem] = list(folder.refused)
    lobs = catalogue.lines_of_business
    for stem, path in submissions.items():
        if stem not in lobs:
            problems.append(
                Problem(
                    str(path),
                    None,
                    None,
                    f"file name {path.name} is not a line of business: expected "
                    f"one of {', '.join(sorted(lobs))}",
                )
            )
    for lob in sorted(lobs.values(), key=lambda lob: lob.article_order):
        path = submissions.get(lob.lob_code)
        if path is None and lob.lob_code in folder.refused_stems:
            continue  # its refusal is the problem
        if path is None:
            problems.append(
                Problem(
                    str(Path(incoming_dir) / period / f"{lob.lob_code}.csv"),
                    None,
                    None,
                    f"missing submission: {lob.lob_code} ({lob.name_zh}) has no "
                    f"{lob.lob_code}.csv or {lob.lob_code}.xlsx for {period}",
                )
            )
            continue
        problems.extend(validate_file(path, catalogue, period=period, lob_code=lob.lob_code))
    return submissions, problems


def reject_month(
    params: WarehouseParams,
    period: str,
    submissions: dict[str, Path],
    problems: list[Problem],
    catalogue: Catalogue,
    *,
    run_id: str | None = None,
) -> None:
    """Audit a 'rejected' row for each bad file of the month, then raise with every problem.

    A refused entry named after a line of business (a symlink, say) is audited too.
    """
    files = dict(submissions)
    for problem in problems:
        path = Path(problem.file)
        if path.stem not in files and os.path.lexists(path):
            files[path.stem] = path
    for stem, path in files.items():
        own = [p for p in problems if p.file == str(path)]
        if own and stem in catalogue.lines_of_business:
            record_rejection(
                params, path, period=period, lob_code=stem, problems=own, run_id=run_id
            )
    raise SubmissionInvalid(problems)


def load_month(
    params: WarehouseParams,
    incoming_dir: Path,
    period: str,
    catalogue: Catalogue,
    *,
    run_id: str | None = None,
) -> list[LoadResult]:
    """Validate every file of the month first; stage them only if all are good, then
    publish the month (figures and highlights) in one transaction.

    Raises `SubmissionInvalid` listing every problem of every file (and a missing line of
    business), highlights included, without loading anything; each bad file gets a
    'rejected' audit row. Whatever stops it, the month is either all new or as it was.
    """
    from strategy_briefs.ingest.highlights import validate_month_highlights

    submissions, problems = check_month(incoming_dir, period, catalogue)
    problems += validate_month_highlights(params, incoming_dir, period, catalogue, run_id=run_id)
    if problems:
        reject_month(params, period, submissions, problems, catalogue, run_id=run_id)
    lobs = sorted(catalogue.lines_of_business.values(), key=lambda lob: lob.article_order)
    run_key = run_id or fresh_run_key()
    for lob in lobs:
        stage_submission(
            params,
            submissions[lob.lob_code],
            period=period,
            lob_code=lob.lob_code,
            catalogue=catalogue,
            run_key=run_key,
            run_id=run_id,
        )
    return publish_month(
        params,
        period,
        [lob.lob_code for lob in lobs],
        run_key=run_key,
        catalogue=catalogue,
        incoming_dir=incoming_dir,
        run_id=run_id,
    )
