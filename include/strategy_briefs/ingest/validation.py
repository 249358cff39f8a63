"""Validation: every problem of a submission at once, as `FILE:ROW:COLUMN: message`.

`SubmissionCheck` streams a file once: it yields the normalised rows that passed and
collects a `Problem` for everything else. Only when the stream is exhausted are the
problems complete (duplicates and missing required KPIs are whole-file rules), so a
loader writes while it reads and decides at the end whether to commit.

Rows are normalised per docs/architecture.md: `entity_type`/`entity_code`, `value_base =
value * factor` (ratios become fractions), `value_submitted` exactly as printed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from strategy_briefs.catalogue import Catalogue, Kpi, Unit
from strategy_briefs.ingest.duplicates import KeyDigests, entity_digest
from strategy_briefs.ingest.incoming import escaped, excerpt, has_control_characters
from strategy_briefs.ingest.reading import (
    CHINESE_HEADERS,
    COLUMNS,
    REQUIRED_COLUMNS,
    Table,
    ValueFormatError,
    canonical_header,
    parse_value,
    read_table,
)
from strategy_briefs.periods import Period, PeriodError

DEMO_NOTE = "演示数据"  # a note containing this marks synthetic demonstration data
MAX_PROBLEMS = 10_000
SUBMISSION_SUFFIXES = (".csv", ".xlsx")

# What the warehouse can keep (docs/submission-contract.md §6): a value with more digits
# would be rounded in value_base (28 significant digits) or overflow `numeric`; a branch
# name longer than this would not fit the primary key's btree index.
MAX_WHOLE_DIGITS = 18
MAX_DECIMAL_DIGITS = 10
MAX_BRANCH_CHARS = 50
_PLAIN_NUMBER = re.compile(rf"\d{{1,{MAX_WHOLE_DIGITS}}}(?:\.\d{{1,{MAX_DECIMAL_DIGITS}}})?")
_NOTE_TEXT_CONTROLS = frozenset("\t\n\r")  # a tab or a line break (Alt+Enter) in a cell
_BRANCH = re.compile(r"branch\s*[:：]\s*(.*)", re.IGNORECASE | re.DOTALL)
_KIND_ARTICLE = {"amount": "an amount"}
# A memo of checked cells holds at most this many texts of at most this many characters:
# enough for every KPI, unit and entity of a real submission, bounded for any file.
MEMO_ENTRIES = 16_384
MEMO_CELL_CHARS = 256


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission; `row` as a spreadsheet shows it (header = 1)."""

    file: str
    row: int | None  # None: the whole file
    column: str | None  # the column's header as written in the file; None: the whole row
    message: str

    def __str__(self) -> str:
        row = "-" if self.row is None else str(self.row)
        file, column, message = escaped(self.file), excerpt(self.column or "-"), self.message
        return f"{file}:{row}:{column}: {escaped(message)}"  # one line, whatever the input


@dataclass(frozen=True)
class FigureRow:
    """A normalised submission row (the columns of raw.lob_figures it determines)."""

    period: dt.date
    lob_code: str
    kpi_code: str
    entity_type: str  # bank | branch
    entity_code: str
    value_submitted: str
    unit_submitted: str
    value_base: Decimal
    qualifier: str | None
    note: str | None
    is_demo_data: bool
    source_row: int


# (kpi_code, entity_type, entity_code, value_submitted, unit_submitted, value_base,
#  qualifier, note, is_demo_data, source_row): the hot loop's row, without per-file constants
RowTuple = tuple[str, str, str, str, str, Decimal, str | None, str | None, bool, int]


class Entity(NamedTuple):
    """A row's entity, ('bank', 'icbc') or ('branch', '广东'), with its key's digest."""

    type: str
    code: str
    digest: bytes


def entity_of(entity_type: str, entity_code: str) -> Entity:
    return Entity(entity_type, entity_code, entity_digest(entity_type, entity_code))


@dataclass(frozen=True)
class Place:
    """What a file's location says: <YYYY-MM>/<lob>.<ext>."""

    period: str | None
    lob_code: str | None


def place_of(path: Path, catalogue: Catalogue) -> Place:
    """Period from a `YYYY-MM` folder, line of business from a file named after it."""
    try:
        period = str(Period.parse(path.parent.name))
    except PeriodError:
        period = None
    lob = path.stem if path.stem in catalogue.lines_of_business else None
    return Place(period=period, lob_code=lob)


def submitted_period(text: str) -> str | None:
    """A period cell as YYYY-MM (`Period.from_cell`'s spellings); None when it names no month."""
    month = Period.from_cell(text)
    return None if month is None else str(month)


def _kind_phrase(kpi: Kpi) -> str:
    return f"{_KIND_ARTICLE.get(kpi.kind, 'a ' + kpi.kind)} in {kpi.base_unit}"


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def digits_problem(number: str) -> str | None:
    """Why a parsed number cannot be kept exactly, or None."""
    whole, _, fraction = number.lstrip("-").partition(".")
    if len(whole) > MAX_WHOLE_DIGITS:
        return (
            f"value '{excerpt(number)}' has {len(whole):,} digits before the decimal point; "
            f"at most {MAX_WHOLE_DIGITS} are allowed"
        )
    if len(fraction) > MAX_DECIMAL_DIGITS:
        return (
            f"value '{excerpt(number)}' has {len(fraction):,} digits after the decimal point; "
            f"at most {MAX_DECIMAL_DIGITS} are allowed"
        )
    return None


def range_problem(number: str, value_base: Decimal, kpi: Kpi, rank_max: int) -> str | None:
    """Why a value is out of its KPI's range (ratio, rank, sign), or None."""
    if kpi.kind == "ratio":
        if value_base < 0 or value_base > 1:
            return f"value {number}% is outside 0–100%"
    elif kpi.kind == "rank":
        value = Decimal(number)
        if value != value.to_integral_value() or not 1 <= value <= rank_max:
            return f"rank {number} is not a whole number from 1 to {rank_max}"
    elif value_base < 0:
        return f"value {number} is negative: {kpi.kpi_code} is {_kind_phrase(kpi)}"
    return None


def _control_character(text: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """The first control character of `text` not in `allowed`, as 'U+XXXX', or None."""
    for char in text:
        if char not in allowed and unicodedata.category(char) == "Cc":
            return f"U+{ord(char):04X}"
    return None


def note_problem(note: str) -> str | None:
    """Why a note cannot be kept as written (the warehouse refuses NUL), or None."""
    if note.isprintable():  # nearly every note: no need to look at each character
        return None
    char = _control_character(note, _NOTE_TEXT_CONTROLS)
    if char is None:
        return None
    return f"note holds control character {char}: only tabs and line breaks may stand in a note"


def branch_problem(name: str) -> str | None:
    """Why a branch name cannot be a key (control characters, length), or None."""
    if has_control_characters(name):
        char = next(c for c in name if has_control_characters(c))
        return f"branch name holds control character U+{ord(char):04X}: write it as plain text"
    if len(name) > MAX_BRANCH_CHARS:
        return (
            f"branch name is {len(name):,} characters long; at most {MAX_BRANCH_CHARS} are allowed"
        )
    return None


class _Memo(dict):
    """cell text -> check(text), bounded: cleared when full, a long text never kept.

    Nearly every cell of a big file repeats one seen before, so each distinct text is
    checked once; a file of ever new texts costs a re-check per cell, never memory.
    """

    def __init__(self, check: Callable[[str], object]):
        super().__init__()
        self._check = check

    def __missing__(self, text: str) -> object:
        value = self._check(text)
        if len(text) <= MEMO_CELL_CHARS:
            if len(self) >= MEMO_ENTRIES:
                self.clear()
            self[text] = value
        return value


class SubmissionInvalid(Exception):
    """A submission with problems; nothing of it was loaded."""

    def __init__(self, problems: list[Problem], load_id: int | None = None):
        self.problems = problems
        self.load_id = load_id  # the audit row that records the rejection, if any
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s):\n{shown}{more}")


@dataclass
class _OnePerFile:
    """A column whose value is the same on every row: the period, the line of business.

    `expected` (from the loader or the file's place) wins; otherwise the first row decides.
    """

    column: str  # as messages name it: 'period', 'line of business'
    unit_of_file: str  # 'a file holds one month'
    expected: str | None
    origin: str  # where `expected` comes from, for messages
    value: str | None = None
    first_row: int = 0

    def __post_init__(self) -> None:
        self.value = self.expected

    def mismatch(self, found: str, row_number: int) -> str | None:
        """The problem with `found` on this row, or None (the first row sets the value)."""
        if self.expected:
            if found != self.expected:
                return f"{self.column} {found} does not match {self.origin}"
        elif self.value is None:
            self.value, self.first_row = found, row_number
        elif found != self.value:
            return (
                f"{self.column} {found} differs from {self.value} on row {self.first_row}: "
                f"a file holds one {self.unit_of_file}"
            )
        return None


class SubmissionCheck:
    """Validate one submission file while streaming its normalised rows.

    `period`/`lob_code` say what the file must hold (the loader passes them); when not
    given they come from the file's place (`<YYYY-MM>/<lob>.<ext>`), else from its content.
    """

    def __init__(
        self,
        path: Path,
        catalogue: Catalogue,
        *,
        period: str | None = None,
        lob_code: str | None = None,
        display_name: str | None = None,
    ):
        self.path = Path(path)
        self.catalogue = catalogue
        self.display_name = display_name or str(path)
        place = place_of(self.path, catalogue)
        self._period = _OnePerFile(
            "period",
            "month",
            period or place.period,
            f"the period being loaded, {period}" if period else f"the folder {place.period}",
        )
        self._lob = _OnePerFile(
            "line of business",
            "line of business",
            lob_code or place.lob_code,
            f"the line of business being loaded, {lob_code}"
            if lob_code
            else f"the file name {self.path.name}",
        )
        self.encoding: str | None = None
        self.data_rows = 0  # non-blank rows read
        self._problems: list[Problem] = []
        self._column_order: dict[str, int] = {}  # header text -> position, to sort problems
        self._dropped = 0
        self._finished = False

    @property
    def period(self) -> str | None:
        """The file's month (YYYY-MM): as expected, else as its first valid row says."""
        return self._period.value

    @property
    def lob_code(self) -> str | None:
        return self._lob.value

    # ------------------------------------------------------------ problems

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def problems(self) -> list[Problem]:
        if not self._finished:
            raise RuntimeError("consume rows() first: problems are complete only at the end")
        return self._problems

    def _add(self, row: int | None, column: str | None, message: str) -> None:
        if len(self._problems) >= MAX_PROBLEMS:
            self._dropped += 1
            return
        self._problems.append(Problem(self.display_name, row, column, message))

    # ------------------------------------------------------------ rows

    def figure_rows(self) -> Iterator[FigureRow]:
        """The valid rows as `FigureRow`s (problems complete once exhausted)."""
        month = None  # the first valid row has set the file's period by the time it is yielded
        for row in self.rows():
            month = month or Period.parse(self.period or "1900-01").first_day
            yield FigureRow(month, self.lob_code or "", *row)

    def rows(self) -> Iterator[RowTuple]:
        """Stream the valid rows; afterwards `problems` holds every problem of the file."""
        try:
            yield from self._rows()
        finally:
            self._finish()

    def _open(self, on_problem=None) -> Table | None:
        sheet_names: list[str] = []
        if self._lob.expected:
            sheet_names.append(self._lob.expected)
            lob = self.catalogue.lines_of_business.get(self._lob.expected)
            if lob:
                sheet_names.append(lob.name_zh)
        return read_table(self.path, on_problem or self._add, sheet_names)

    def _finish(self) -> None:
        if self._finished:
            return
        order = self._column_order
        self._problems.sort(
            key=lambda p: (p.row is not None, p.row or 0, order.get(p.column or "", -1))
        )
        if self._dropped:
            self._problems.append(
                Problem(
                    self.display_name,
                    None,
                    None,
                    f"{self._dropped} more problems not shown: fix the ones above first",
                )
            )
        self._finished = True

    def _columns(self, table: Table) -> dict[str, int] | None:
        """Canonical column -> index; reports header problems; None when unusable."""
        index: dict[str, int] = {}
        if not any(canonical_header(text) for text in table.header if text):
            self._not_a_submission(table)
            return None
        for position, text in enumerate(table.header):
            self._column_order.setdefault(text, position)
            if not text:
                self._add(table.header_row, None, f"column {position + 1} has no header")
                continue
            name = canonical_header(text)
            if name is None:
                self._add(
                    table.header_row,
                    text,
                    f"unknown column '{excerpt(text)}': expected {', '.join(COLUMNS)} "
                    f"(or {', '.join(CHINESE_HEADERS[c] for c in COLUMNS)})",
                )
            elif name in index:
                self._add(table.header_row, text, f"column {name} appears twice")
            else:
                index[name] = position
        missing = [c for c in REQUIRED_COLUMNS if c not in index]
        for name in missing:
            self._add(table.header_row, None, f"missing column {name} ({CHINESE_HEADERS[name]})")
        return None if missing else index

    def _not_a_submission(self, table: Table) -> None:
        """A first row without one known column: the file is not a submission, so only a
        bounded excerpt of it is quoted (it may be anything: a key file, a password list)."""
        first = next(text for text in table.header if text)
        self._add(
            table.header_row,
            None,
            f"this is not a submission: its first row '{excerpt(first)}' has none of "
            f"the columns {', '.join(COLUMNS)} "
            f"(or {', '.join(CHINESE_HEADERS[c] for c in COLUMNS)})",
        )

    def _rows(self) -> Iterator[RowTuple]:
        table = self._open()
        if table is None:
            return
        self.encoding = table.encoding
        try:
            columns = self._columns(table)
            if columns is None:
                return
            yield from self._check_rows(table, columns)
        finally:
            table.close()

    def _check_rows(self, table: Table, columns: dict[str, int]) -> Iterator[RowTuple]:
        catalogue = self.catalogue
        header = table.header
        add = self._add
        i_period, i_lob, i_kpi = columns["period"], columns["lob"], columns["kpi_code"]
        i_entity, i_value, i_unit = columns["entity"], columns["value"], columns["unit"]
        i_note = columns.get("note")
        h_period, h_lob, h_kpi = header[i_period], header[i_lob], header[i_kpi]
        h_entity, h_value, h_unit = header[i_entity], header[i_value], header[i_unit]

        period_memo = _Memo(lambda text: submitted_period(text) if text else None)
        lob_memo = _Memo(self._find_lob)
        kpi_memo = _Memo(self._find_kpi)
        entity_memo = _Memo(self._find_entity)
        unit_memos: dict[str, _Memo] = {}  # kpi_code ('' when unknown) -> unit text -> unit
        rank_max = len(catalogue.banks)
        reporting = catalogue.reporting_bank.bank_code
        keys = KeyDigests()
        add_key = keys.add
        reported_for: set[str] = set()
        one = Decimal(1)

        def check_slow(row_number: int, cells: list[str | None]) -> RowTuple | None:
            """Every rule, with its message; fills the fast path's caches."""
            ok = True

            # period
            text = cells[i_period]
            if text is not None:
                period = period_memo[text]
                if not text:
                    add(row_number, h_period, "period is empty")
                    ok = False
                elif period is None:
                    add(
                        row_number,
                        h_period,
                        f"period '{excerpt(text)}' is not a month: write YYYY-MM",
                    )
                    ok = False
                elif problem := self._period.mismatch(period, row_number):
                    add(row_number, h_period, problem)
                    ok = False
            else:
                ok = False

            # line of business
            text = cells[i_lob]
            if text is not None:
                lob = lob_memo[text]
                if not text:
                    add(row_number, h_lob, "lob is empty")
                    ok = False
                elif lob is None:
                    add(
                        row_number,
                        h_lob,
                        f"unknown line of business '{excerpt(text)}': expected "
                        f"{_or_list(sorted(catalogue.lines_of_business))}",
                    )
                    ok = False
                elif problem := self._lob.mismatch(lob, row_number):
                    add(row_number, h_lob, problem)
                    ok = False
            else:
                ok = False

            # kpi
            kpi: Kpi | None = None
            text = cells[i_kpi]
            if text is not None:
                found_kpi = kpi_memo[text]
                if isinstance(found_kpi, str):
                    add(row_number, h_kpi, found_kpi)
                    ok = False
                elif self.lob_code and found_kpi.lob_code != self.lob_code:
                    add(
                        row_number,
                        h_kpi,
                        f"kpi_code {found_kpi.kpi_code} belongs to "
                        f"{found_kpi.lob_code}, not {self.lob_code}",
                    )
                    ok = False
                else:
                    kpi = found_kpi
            else:
                ok = False

            # entity
            entity: Entity | None = None
            text = cells[i_entity]
            if text is not None:
                found_entity = entity_memo[text]
                if isinstance(found_entity, str):
                    add(row_number, h_entity, found_entity)
                    ok = False
                else:
                    entity = found_entity
            else:
                ok = False

            # value (and unit, which needs to know about a % sign in the value)
            value_text = cells[i_value]
            unit_text = cells[i_unit]
            number = qualifier = None
            percent = False
            if value_text is None:
                ok = False
            elif not value_text:
                add(row_number, h_value, "value is empty")
                ok = False
            elif _PLAIN_NUMBER.fullmatch(value_text):
                number = value_text
            else:
                try:
                    parsed = parse_value(value_text)
                except ValueFormatError as error:
                    add(row_number, h_value, str(error))
                    ok = False
                else:
                    number, qualifier, percent = parsed.number, parsed.qualifier, parsed.percent

            unit: Unit | None = None
            if unit_text is None:
                ok = False
            else:
                if not unit_text and percent:
                    unit_text = "%"
                unit_memo = unit_memos.get(kpi.kpi_code if kpi else "")
                if unit_memo is None:
                    unit_memo = unit_memos[kpi.kpi_code if kpi else ""] = _Memo(
                        lambda text, kpi=kpi: self._find_unit(text, kpi)
                    )
                found_unit = unit_memo[unit_text]
                if isinstance(found_unit, str):
                    add(row_number, h_unit, found_unit)
                    ok = False
                else:
                    unit = found_unit
                    if percent and unit.unit != "%":
                        add(
                            row_number,
                            h_value,
                            f"value '{excerpt(value_text)}' has a % sign but the unit is {unit.unit}",
                        )
                        ok = False

            if number is not None and (problem := digits_problem(number)):
                add(row_number, h_value, problem)
                number, ok = None, False
            value_base = None
            if number is not None and kpi is not None and unit is not None:
                value_base = Decimal(number) * unit.factor
                if problem := range_problem(number, value_base, kpi, rank_max):
                    add(row_number, h_value, problem)
                    ok = False

            if kpi is not None and entity is not None:
                add_key(kpi.kpi_code, entity.digest, row_number)
                if entity[1] == reporting and entity[0] == "bank":
                    reported_for.add(kpi.kpi_code)

            if kpi is not None and entity is not None and unit is not None and self.lob_code:
                if len(fast_entity) >= MEMO_ENTRIES:  # a file of ever new entities
                    fast_kpi.clear(), fast_entity.clear(), fast_units.clear()
                fast_kpi[cells[i_kpi]] = kpi  # type: ignore[index]
                fast_entity[cells[i_entity]] = entity  # type: ignore[index]
                if not percent:
                    fast_units.setdefault(kpi.kpi_code, {})[unit_text] = unit
            note = cells[i_note] if i_note is not None else None
            if note and (problem := note_problem(note)):
                add(row_number, header[i_note], problem)  # type: ignore[index]
                ok = False
            if ok:
                fast_period_lob[0] = (cells[i_period], cells[i_lob])
                return (
                    kpi.kpi_code,
                    entity[0],
                    entity[1],
                    number,
                    unit.unit,  # type: ignore[union-attr,index]
                    value_base,
                    qualifier,
                    note or None,
                    note is not None and DEMO_NOTE in note,
                    row_number,
                )
            return None

        # The fast path: rows whose every part was seen valid before (nearly all of them in a
        # big file) cost a few dictionary lookups; anything else goes through check_slow.
        fast_kpi: dict[str, Kpi] = {}
        fast_entity: dict[str, Entity] = {}
        fast_units: dict[str, dict[str, Unit]] = {}
        fast_period_lob: list[tuple[str | None, str | None]] = [(None, None)]
        plain = _PLAIN_NUMBER.fullmatch
        data_rows = 0
        for row_number, cells in table.rows:
            data_rows += 1
            if (cells[i_period], cells[i_lob]) == fast_period_lob[0]:
                kpi = fast_kpi.get(cells[i_kpi])  # type: ignore[arg-type]
                entity = fast_entity.get(cells[i_entity])  # type: ignore[arg-type]
                value_text = cells[i_value]
                if kpi is not None and entity is not None and value_text and plain(value_text):
                    unit = fast_units[kpi.kpi_code].get(cells[i_unit])  # type: ignore[arg-type]
                    kind = kpi.kind
                    if unit is not None and kind != "rank":
                        value = Decimal(value_text)
                        value_base = value * unit.factor
                        # the plain-number pattern has no sign: only a ratio can be out of range
                        note = cells[i_note] if i_note is not None else None
                        if note and not note.isprintable() and note_problem(note):
                            pass  # check_slow reports it
                        elif kind != "ratio" or value_base <= one:
                            add_key(kpi.kpi_code, entity.digest, row_number)
                            if entity[1] == reporting and entity[0] == "bank":
                                reported_for.add(kpi.kpi_code)
                            yield (
                                kpi.kpi_code,
                                entity[0],
                                entity[1],
                                value_text,
                                unit.unit,
                                value_base,
                                None,
                                note or None,
                                note is not None and DEMO_NOTE in note,
                                row_number,
                            )
                            continue
            row = check_slow(row_number, cells)
            if row is not None:
                yield row
        self.data_rows = data_rows

        if self.data_rows == 0:
            add(None, None, "the file has a header but no data rows")
            return
        self._report_duplicates(columns, kpi_memo, entity_memo, keys)
        if self.lob_code:
            bank = catalogue.reporting_bank
            for kpi in catalogue.required_kpis(self.lob_code):
                if kpi.kpi_code not in reported_for:
                    add(
                        None,
                        h_kpi,
                        f"required KPI {kpi.kpi_code} ({kpi.name_zh}) is missing "
                        f"for {bank.bank_code} ({bank.name_zh})",
                    )

    def _report_duplicates(
        self, columns: dict[str, int], kpi_memo: _Memo, entity_memo: _Memo, keys: KeyDigests
    ) -> None:
        """Name each repeated key's first row; a second pass over the file reads the
        repeating rows' KPI and entity (only for the problems that will be shown)."""
        found, total = keys.duplicates(MAX_PROBLEMS - len(self._problems))
        self._dropped += total - len(found)
        if not found:
            return
        first_row = {duplicate.row: duplicate.first_row for duplicate in found}
        last = found[-1].row
        table = self._open(lambda *_: None)
        if table is None:
            return
        i_kpi, i_entity = columns["kpi_code"], columns["entity"]
        h_kpi = table.header[i_kpi]
        try:
            for row_number, cells in table.rows:
                if row_number in first_row:
                    kpi, entity = kpi_memo[cells[i_kpi]], entity_memo[cells[i_entity]]
                    entity_text = entity.code if entity.type == "bank" else f"branch:{entity.code}"
                    self._add(
                        row_number,
                        h_kpi,
                        f"duplicate row: {kpi.kpi_code} for "
                        f"{entity_text} in {self.period} is already on row "
                        f"{first_row[row_number]}",
                    )
                if row_number >= last:
                    break
        finally:
            table.close()

    # ------------------------------------------------------------ lookups

    def _find_lob(self, text: str) -> str | None:
        found = self.catalogue.lob_by_name(text) if text else None
        return found.lob_code if found else None

    def _find_kpi(self, text: str) -> Kpi | str:
        if not text:
            return "kpi_code is empty"
        kpi = self.catalogue.kpis.get(text) or self.catalogue.kpis.get(text.lower())
        if kpi is not None:
            return kpi
        candidates = (
            [k.kpi_code for k in self.catalogue.kpis_of(self.lob_code)]
            if self.lob_code
            else list(self.catalogue.kpis)
        )
        close = difflib.get_close_matches(text, candidates, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown kpi_code '{excerpt(text)}'{hint}"

    def _find_entity(self, text: str) -> Entity | str:
        if not text:
            return "entity is empty"
        normal = unicodedata.normalize("NFKC", text).strip()
        branch = _BRANCH.fullmatch(normal)
        if branch:
            name = branch.group(1).strip()
            if name.endswith("分行") and len(name) > 2:
                name = name[:-2]
            if not name:
                return f"entity '{excerpt(text)}' names no branch: write branch:<name>, e.g. branch:广东"
            return branch_problem(name) or entity_of("branch", name)
        bank = self.catalogue.bank_by_name(normal)
        if bank is not None:
            return entity_of("bank", bank.bank_code)
        codes = ", ".join(self.catalogue.banks)
        return (
            f"unknown entity '{excerpt(text)}': use a bank code ({codes}), a bank's Chinese name, "
            "or branch:<name>"
        )

    def _find_unit(self, text: str, kpi: Kpi | None) -> Unit | str:
        if not text:
            return "unit is empty"
        normal = unicodedata.normalize("NFKC", text).strip()
        unit = self.catalogue.units.get(normal)
        if unit is None:
            known = ", ".join(self.catalogue.units)
            return f"unknown unit '{excerpt(text)}': expected one of {known}"
        if kpi is not None and (unit.kind != kpi.kind or unit.base_unit != kpi.base_unit):
            fitting = [
                u.unit
                for u in self.catalogue.units.values()
                if u.kind == kpi.kind and u.base_unit == kpi.base_unit
            ]
            return (
                f"unit {unit.unit} does not fit {kpi.kpi_code}, {_kind_phrase(kpi)}: "
                f"use {_or_list(fitting)}"
            )
        return unit


def check_file(
    path: Path,
    catalogue: Catalogue,
    *,
    period: str | None = None,
    lob_code: str | None = None,
) -> tuple[list[FigureRow], list[Problem]]:
    """Read and validate a (small) submission: its valid rows and all its problems."""
    check = SubmissionCheck(path, catalogue, period=period, lob_code=lob_code)
    rows = list(check.figure_rows())
    return rows, check.problems


def validate_file(
    path: Path, catalogue: Catalogue, *, period: str | None = None, lob_code: str | None = None
) -> list[Problem]:
    """All problems of one submission (streams; keeps no rows)."""
    check = SubmissionCheck(path, catalogue, period=period, lob_code=lob_code)
    for _ in check.rows():
        pass
    return check.problems


def validate_paths(paths: Iterable[Path], catalogue: Catalogue) -> list[Problem]:
    """Problems of every file (the CLI's `strategy-briefs validate FILE...`).

    Period and line of business come from a `<YYYY-MM>/<lob>.<ext>` place, else from content.
    """
    problems: list[Problem] = []
    for path in paths:
        problems.extend(validate_file(Path(path), catalogue))
    return problems
