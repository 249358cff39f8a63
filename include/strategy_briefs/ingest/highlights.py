"""Highlights: the departments' own words, an optional submission beside the figures.

`data/incoming/<YYYY-MM>/highlights/<lob>.csv` (or `.xlsx`) holds up to six items, each
an optional bold opener sentence and a text (docs/submission-contract.md, "Highlights").
The file is read by the figures' reader (same encodings, same .xlsx rules) and checked by
the rules below, every problem a `Problem` (`FILE:ROW:COLUMN: message`):

1. the header names the columns period, lob_code, item_no, opener, text (or 期间, 业务条线,
   序号, 要点, 正文); period, lob_code, item_no and text are required;
2. every row's period and line of business are the file's (its folder and name);
3. item_no is a whole number 1..6, once per file; at most six items;
4. the text is not empty; opener and text are at most `MAX_OPENER` / `MAX_TEXT`
   characters, all items together at most `MAX_TOTAL`; neither holds a control character
   (a line break included);
5. markup is text: nothing is interpreted, the templates escape it.

Highlights are small, so the whole file is checked before anything is written; then
`write_highlights` replaces the month and line of business inside the caller's
transaction (so it can join a publish step), and `load_highlights` wraps both with the
figures' audit rules: a rejected file gets a 'rejected' audit row and loads nothing.

A month goes as its figures do: `validate_month_highlights` checks every highlights file
with the figures, so a bad one holds the whole month; the month's publish
(`loading.publish_month`) checks them again (`highlights_to_publish`) and, in its one
transaction, replaces each line's items or removes them when the file is gone
(`replace_highlights`). `publish_highlights` does the same for one line on its own.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.catalogue import Catalogue
from strategy_briefs.ingest.incoming import excerpt
from strategy_briefs.ingest.loading import (
    APPLICATION_NAME,
    AUDIT_TABLE,
    RAW_SCHEMA,
    file_digest,
    record_rejection,
)
from strategy_briefs.ingest.reading import read_table
from strategy_briefs.ingest.validation import Problem, SubmissionInvalid, submitted_period
from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams, connect

HIGHLIGHTS_DIR = "highlights"  # the folder inside a month's folder
HIGHLIGHTS_TABLE = "lob_highlights"
SUBMISSION_KIND = "highlights"  # raw.load_audit.submission
MAX_ITEMS = 6
MAX_OPENER = 60
MAX_TEXT = 300
# All of a line's items together: with the current catalogue at its widest, 360 characters
# per line keep the edition within four A4 pages (tests/briefs/test_brief_layout.py).
MAX_TOTAL = 360
COLUMNS = ("period", "lob_code", "item_no", "opener", "text")
REQUIRED = ("period", "lob_code", "item_no", "text")
_ALIASES = {
    "period": "period",
    "期间": "period",
    "lob_code": "lob_code",
    "lob": "lob_code",
    "业务条线": "lob_code",
    "item_no": "item_no",
    "序号": "item_no",
    "opener": "opener",
    "要点": "opener",
    "text": "text",
    "正文": "text",
}


@dataclass(frozen=True)
class HighlightItem:
    item_no: int
    opener: str | None
    text: str
    source_row: int


@dataclass(frozen=True)
class HighlightsCheck:
    """What a highlights file holds and everything wrong with it."""

    path: Path
    period: str
    lob_code: str
    items: tuple[HighlightItem, ...]
    problems: tuple[Problem, ...]
    encoding: str | None


def highlights_path(incoming_dir: Path, period: str, lob_code: str) -> Path | None:
    """The month's highlights file of a line of business, if one was submitted."""
    folder = Path(incoming_dir) / period / HIGHLIGHTS_DIR
    for suffix in (".csv", ".xlsx"):
        if (folder / f"{lob_code}{suffix}").is_file():
            return folder / f"{lob_code}{suffix}"
    return None


def _control_character(text: str) -> str | None:
    for char in text:
        if unicodedata.category(char) == "Cc":
            return "a line break" if char in "\r\n" else f"control character U+{ord(char):04X}"
    return None


def _text_problem(text: str, column: str, limit: int) -> str | None:
    control = _control_character(text)
    if control:
        return f"{column} holds {control}: keep each item on one line of plain text"
    if len(text) > limit:
        return f"{column} is {len(text)} characters long; at most {limit} are allowed"
    return None


def check_highlights(
    path: Path, catalogue: Catalogue, *, period: str, lob_code: str
) -> HighlightsCheck:
    """Read and check one highlights file; every problem is collected, nothing stops early."""
    path = Path(path)
    problems: list[Problem] = []

    def report(row: int | None, column: str | None, message: str) -> None:
        problems.append(Problem(str(path), row, column, message))

    if lob_code not in catalogue.lines_of_business:
        report(None, None, f"unknown line of business {lob_code!r}")
    table = read_table(path, report)
    if table is None:
        return HighlightsCheck(path, period, lob_code, (), tuple(problems), None)
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    for position, cell in enumerate(table.header):
        name = _ALIASES.get(unicodedata.normalize("NFKC", cell).strip().lower())
        if name is None:
            report(table.header_row, cell, f"unknown column '{excerpt(cell)}'")
        elif name in index:
            report(table.header_row, cell, f"column '{excerpt(cell)}' appears twice")
        else:
            index[name], written[name] = position, cell
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        report(table.header_row, None, f"missing column(s): {', '.join(missing)}")
        table.close()
        return HighlightsCheck(path, period, lob_code, (), tuple(problems), table.encoding)
    items: list[HighlightItem] = []
    seen: dict[int, int] = {}
    for row_number, cells in table.rows:

        def cell(name: str, cells: list[str | None] = cells) -> str | None:
            return cells[index[name]] if name in index else ""

        found_period = cell("period")
        if found_period is not None and submitted_period(found_period) != period:
            report(row_number, written["period"], f"period {found_period} is not {period}")
        found_lob = cell("lob_code")
        if found_lob is not None and found_lob != lob_code:
            report(
                row_number, written["lob_code"], f"line of business {found_lob} is not {lob_code}"
            )
        number_text = cell("item_no")
        item_no = int(number_text) if number_text and number_text.isdigit() else None
        if number_text is not None and (item_no is None or not 1 <= item_no <= MAX_ITEMS):
            report(
                row_number,
                written["item_no"],
                f"item_no '{number_text}' is not a whole number from 1 to {MAX_ITEMS}",
            )
            item_no = None
        elif item_no in seen:
            report(
                row_number,
                written["item_no"],
                f"item_no {item_no} is already on row {seen[item_no]}",
            )
            item_no = None
        if item_no is not None:
            seen[item_no] = row_number
        opener, text = cell("opener"), cell("text")
        good = item_no is not None and opener is not None and text is not None
        if text == "":
            report(row_number, written["text"], "text is empty: every item needs its text")
            good = False
        for name, value, limit in (("opener", opener, MAX_OPENER), ("text", text, MAX_TEXT)):
            problem = value and _text_problem(value, name, limit)
            if problem:
                report(row_number, written[name], problem)
                good = False
        if good:
            items.append(HighlightItem(item_no, opener or None, text, row_number))  # type: ignore[arg-type]
    total = sum(len(item.opener or "") + len(item.text) for item in items)
    if total > MAX_TOTAL:
        report(
            None,
            None,
            f"the items hold {total} characters together; at most {MAX_TOTAL} fit the article",
        )
    if len(seen) > MAX_ITEMS:
        report(None, None, f"{len(seen)} items; at most {MAX_ITEMS} per month")
    if not seen and not problems:
        report(None, None, "the file holds no items: leave it out when there is nothing to say")
    items.sort(key=lambda item: item.item_no)
    return HighlightsCheck(path, period, lob_code, tuple(items), tuple(problems), table.encoding)


def write_highlights(conn, check: HighlightsCheck, *, run_id: str | None = None) -> int:
    """Replace the month's highlights of the line of business inside `conn`'s current
    transaction (the caller commits); returns the 'loaded' audit row's id."""
    from psycopg import sql

    assert not check.problems, "only a clean check is written"
    sha256, size = file_digest(check.path)
    name = f"{check.period}/{HIGHLIGHTS_DIR}/{check.path.name}"
    month = Period.parse(check.period).first_day
    conn.execute(
        "select pg_advisory_xact_lock(hashtext(%s))",
        (f"raw.{HIGHLIGHTS_TABLE}|{check.period}|{check.lob_code}",),
    )
    row = conn.execute(
        sql.SQL(
            "insert into {} (period, lob_code, source_file, source_sha256, source_size,"
            " source_encoding, row_count, status, run_id, submission)"
            " values (%s, %s, %s, %s, %s, %s, %s, 'loaded', %s, %s) returning load_id"
        ).format(sql.Identifier(RAW_SCHEMA, AUDIT_TABLE)),
        (
            month,
            check.lob_code,
            name,
            sha256,
            size,
            check.encoding,
            len(check.items),
            run_id,
            SUBMISSION_KIND,
        ),
    ).fetchone()
    load_id = int(row[0])
    table = sql.Identifier(RAW_SCHEMA, HIGHLIGHTS_TABLE)
    conn.execute(
        sql.SQL("delete from {} where period = %s and lob_code = %s").format(table),
        (month, check.lob_code),
    )
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                "insert into {} (load_id, period, lob_code, item_no, opener, body,"
                " source_file, source_row) values (%s, %s, %s, %s, %s, %s, %s, %s)"
            ).format(table),
            [
                (load_id, month, check.lob_code, i.item_no, i.opener, i.text, name, i.source_row)
                for i in check.items
            ],
        )
    return load_id


def reject_highlights(
    params: WarehouseParams, check: HighlightsCheck, *, run_id: str | None = None
) -> int:
    """The figures' 'rejected' audit row, marked as a highlights submission."""
    from psycopg import sql

    load_id = record_rejection(
        params,
        check.path,
        period=check.period,
        lob_code=check.lob_code,
        problems=list(check.problems),
        encoding=check.encoding,
        row_count=len(check.items),
        run_id=run_id,
    )
    with connect(params, application_name=APPLICATION_NAME) as conn:
        conn.execute(
            sql.SQL("update {} set submission = %s where load_id = %s").format(
                sql.Identifier(RAW_SCHEMA, AUDIT_TABLE)
            ),
            (SUBMISSION_KIND, load_id),
        )
    return load_id


def load_highlights(
    params: WarehouseParams,
    path: Path,
    *,
    period: str,
    lob_code: str,
    catalogue: Catalogue,
    run_id: str | None = None,
) -> int:
    """Check, then load one highlights file in its own transaction; returns the load_id.

    Raises `SubmissionInvalid` (every problem, the 'rejected' audit row's id) when the
    file has problems; then the month's earlier highlights stay as they were.
    """
    check = check_highlights(path, catalogue, period=period, lob_code=lob_code)
    return _load_checked(params, check, run_id=run_id)


def _load_checked(params: WarehouseParams, check: HighlightsCheck, *, run_id: str | None) -> int:
    if check.problems:
        rejected = reject_highlights(params, check, run_id=run_id)
        raise SubmissionInvalid(list(check.problems), rejected)
    with connect(params, application_name=APPLICATION_NAME) as conn, conn.transaction():
        return write_highlights(conn, check, run_id=run_id)


def check_month_highlights(
    incoming_dir: Path, period: str, catalogue: Catalogue
) -> list[HighlightsCheck]:
    """Every highlights file of the month, checked, in article order.

    A file in the highlights folder that is not named after a line of business is a check
    of its own with that one problem, so it is reported and never silently ignored.
    """
    lobs = sorted(catalogue.lines_of_business.values(), key=lambda lob: lob.article_order)
    checks = [
        check_highlights(path, catalogue, period=period, lob_code=lob.lob_code)
        for lob in lobs
        if (path := highlights_path(incoming_dir, period, lob.lob_code)) is not None
    ]
    folder = Path(incoming_dir) / period / HIGHLIGHTS_DIR
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.name.startswith((".", "~$")) or path.stem in catalogue.lines_of_business:
                continue
            message = (
                f"file name '{excerpt(path.name)}' is not a line of business: expected one of "
                f"{', '.join(sorted(catalogue.lines_of_business))}"
            )
            checks.append(
                HighlightsCheck(
                    path, period, path.stem, (), (Problem(str(path), None, None, message),), None
                )
            )
    return checks


def validate_month_highlights(
    params: WarehouseParams,
    incoming_dir: Path,
    period: str,
    catalogue: Catalogue,
    *,
    run_id: str | None = None,
) -> list[Problem]:
    """Check the month's highlights; audit a 'rejected' row for each bad file of a line of
    business; return every problem (the caller holds the month on any)."""
    problems: list[Problem] = []
    for check in check_month_highlights(incoming_dir, period, catalogue):
        if check.problems and check.lob_code in catalogue.lines_of_business:
            reject_highlights(params, check, run_id=run_id)
        problems.extend(check.problems)
    return problems


def highlights_to_publish(
    params: WarehouseParams,
    incoming_dir: Path,
    period: str,
    lob_codes: list[str],
    catalogue: Catalogue,
    *,
    run_id: str | None = None,
) -> dict[str, HighlightsCheck | None]:
    """Each line's checked highlights file (None: the line has none this month); a file
    with problems is audited 'rejected' and raises `SubmissionInvalid`, before anything is
    written."""
    checks: dict[str, HighlightsCheck | None] = {}
    for lob_code in lob_codes:
        path = highlights_path(incoming_dir, period, lob_code)
        check = None
        if path is not None:
            check = check_highlights(path, catalogue, period=period, lob_code=lob_code)
            if check.problems:
                rejected = reject_highlights(params, check, run_id=run_id)
                raise SubmissionInvalid(list(check.problems), rejected)
        checks[lob_code] = check
    return checks


def replace_highlights(
    conn, period: str, lob_code: str, check: HighlightsCheck | None, run_id: str | None = None
) -> int:
    """Inside `conn`'s transaction: the line's items of the month become `check`'s, or none
    without a file (the folder is the submission). Returns the number of items now held."""
    from psycopg import sql

    if check is not None:
        write_highlights(conn, check, run_id=run_id)
        return len(check.items)
    conn.execute(
        sql.SQL("delete from {} where period = %s and lob_code = %s").format(
            sql.Identifier(RAW_SCHEMA, HIGHLIGHTS_TABLE)
        ),
        (Period.parse(period).first_day, lob_code),
    )
    return 0


def publish_highlights(
    params: WarehouseParams,
    incoming_dir: Path,
    period: str,
    lob_code: str,
    catalogue: Catalogue,
    *,
    run_id: str | None = None,
) -> int:
    """One line's highlights on their own: its file replaces the month's items, and without
    one the line has none this month. Returns the number of items now held; raises
    `SubmissionInvalid` as `load_highlights`."""
    (check,) = highlights_to_publish(
        params, incoming_dir, period, [lob_code], catalogue, run_id=run_id
    ).values()
    with connect(params, application_name=APPLICATION_NAME) as conn, conn.transaction():
        return replace_highlights(conn, period, lob_code, check, run_id)
