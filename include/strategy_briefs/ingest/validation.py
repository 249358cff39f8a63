"""Validation: every problem of a submission at once, as `FILE:ROW:COLUMN: message`.

`SubmissionCheck` streams a file once: it yields the normalised rows that passed and
collects a `Problem` for everything else. Only when the stream is exhausted are the
problems complete (a later row may repeat a key, a required KPI is missing only once every
row is read), so a loader writes while it reads and decides at the end whether to commit.

Rows are normalised per docs/architecture.md: `entity_type`/`entity_code`, `value_base =
value * factor` (ratios become fractions), `value_submitted` exactly as printed.

Rules (docs/submission-contract.md §6, one function each; a cell's checker returns its
value or `Invalid(message)`, a rule across cells a message or None):
- period:   `check_period` ('2020/6', '2020年6月' -> '2020-06'), then one month a file
            (`_OnePerFile`: the folder's or loader's month, else the first row's)
- lob:      `check_lob` (code or Chinese name), then one line of business a file
- kpi_code: `check_kpi` (a catalogue code; a near miss named), `kpi_line_problem` (the
            file's line's KPI)
- entity:   `check_entity` (bank code or name, `branch:<name>`), `branch_problem`
- value:    `check_value` (qualifiers, %, separators), `percent_problem` (a % sign needs
            unit %), `digits_problem` (what numeric keeps), `range_problem` (ratio, rank,
            sign)
- unit:     `check_unit` (a catalogue unit fitting the KPI)
- note:     `note_problem` (no control characters but tabs and line breaks)
- key:      `duplicate_problem` (a row repeating an earlier row's period, KPI and entity,
            decided on the exact key as the row is read: `duplicates.Keys`)
- file:     the reporting bank's required KPIs

`_RowRules.check` applies them to a row, each cell's checker memoised by the cell's text:
that memo is the fast path, and there is no other.
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
from strategy_briefs.ingest.duplicates import Keys, entity_key
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
    """A row's entity, ('bank', 'icbc') or ('branch', '广东'), with its exact key's bytes
    (memoised with the entity: a row repeating an entity's text does not encode it again)."""

    type: str
    code: str
    key: bytes


def entity_of(entity_type: str, entity_code: str) -> Entity:
    return Entity(entity_type, entity_code, entity_key(entity_type, entity_code))


def entity_text(entity: Entity) -> str:
    """An entity as the contract writes it: 'icbc', 'branch:广东'."""
    return entity.code if entity.type == "bank" else f"branch:{entity.code}"


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


@dataclass(frozen=True, slots=True)
class Invalid:
    """A cell that breaks a rule, in the contract's words; the row's rules make it a
    `Problem` with the file, row and column. No message: the cell could not be read, and
    the reader has reported it already."""

    message: str


UNREAD = Invalid("")


# A value cell as written: (number, qualifier, whether it had a % sign, whether it was a
# plain number, whose digits the pattern keeps within MAX_WHOLE_DIGITS and
# MAX_DECIMAL_DIGITS). A plain tuple: a NamedTuple's constructor cost ~1 s per 1M rows.
Value = tuple[str, str | None, bool, bool]


def check_period(text: str | None) -> str | Invalid:
    """'2020/6', '2020年6月' ... -> '2020-06' (docs/submission-contract.md §3)."""
    if text is None:
        return UNREAD
    if not text:
        return Invalid("period is empty")
    period = submitted_period(text)
    if period is None:
        return Invalid(f"period '{excerpt(text)}' is not a month: write YYYY-MM")
    return period


def check_lob(text: str | None, catalogue: Catalogue) -> str | Invalid:
    """A line of business's code or Chinese name -> its code."""
    if text is None:
        return UNREAD
    if not text:
        return Invalid("lob is empty")
    found = catalogue.lob_by_name(text)
    if found is None:
        expected = _or_list(sorted(catalogue.lines_of_business))
        return Invalid(f"unknown line of business '{excerpt(text)}': expected {expected}")
    return found.lob_code


def check_kpi(text: str | None, catalogue: Catalogue, lob_code: str | None) -> Kpi | Invalid:
    """A catalogue KPI by its code (any case); a near miss is named from `lob_code`'s KPIs."""
    if text is None:
        return UNREAD
    if not text:
        return Invalid("kpi_code is empty")
    kpi = catalogue.kpis.get(text) or catalogue.kpis.get(text.lower())
    if kpi is not None:
        return kpi
    codes = [k.kpi_code for k in catalogue.kpis_of(lob_code)] if lob_code else catalogue.kpis
    close = difflib.get_close_matches(text, list(codes), n=1, cutoff=0.8)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return Invalid(f"unknown kpi_code '{excerpt(text)}'{hint}")


def kpi_line_problem(kpi: Kpi, lob_code: str) -> str | None:
    """Why a KPI cannot stand in the line's file (another line's KPI), or None."""
    if kpi.lob_code != lob_code:
        return f"kpi_code {kpi.kpi_code} belongs to {kpi.lob_code}, not {lob_code}"
    return None


def check_entity(text: str | None, catalogue: Catalogue) -> Entity | Invalid:
    """A bank by code or Chinese name, or `branch:<name>` (分行 dropped) (§5)."""
    if text is None:
        return UNREAD
    if not text:
        return Invalid("entity is empty")
    normal = unicodedata.normalize("NFKC", text).strip()
    branch = _BRANCH.fullmatch(normal)
    if branch:
        name = branch.group(1).strip()
        if name.endswith("分行") and len(name) > 2:
            name = name[:-2]
        if not name:
            return Invalid(
                f"entity '{excerpt(text)}' names no branch: write branch:<name>, e.g. branch:广东"
            )
        problem = branch_problem(name)
        return Invalid(problem) if problem else entity_of("branch", name)
    bank = catalogue.bank_by_name(normal)
    if bank is not None:
        return entity_of("bank", bank.bank_code)
    codes = ", ".join(catalogue.banks)
    return Invalid(
        f"unknown entity '{excerpt(text)}': use a bank code ({codes}), a bank's Chinese name, "
        "or branch:<name>"
    )


def check_value(text: str | None) -> Value | Invalid:
    """'超过4,800' -> ('4800', '超过'), '82.5%' -> percent; a plain number as it is (§4)."""
    if text is None:
        return UNREAD
    if not text:
        return Invalid("value is empty")
    if _PLAIN_NUMBER.fullmatch(text):  # nearly every cell: no qualifier, sign or separator
        return (text, None, False, True)
    try:
        parsed = parse_value(text)
    except ValueFormatError as error:  # reading.parse_value's way of saying why
        return Invalid(str(error))
    return (parsed.number, parsed.qualifier, parsed.percent, False)


def check_unit(text: str | None, kpi: Kpi | None, catalogue: Catalogue) -> Unit | Invalid:
    """A catalogue unit that fits the KPI's kind and base unit (any unit without a KPI)."""
    if text is None:
        return UNREAD
    if not text:
        return Invalid("unit is empty")
    unit = catalogue.units.get(unicodedata.normalize("NFKC", text).strip())
    if unit is None:
        known = ", ".join(catalogue.units)
        return Invalid(f"unknown unit '{excerpt(text)}': expected one of {known}")
    if kpi is not None and (unit.kind != kpi.kind or unit.base_unit != kpi.base_unit):
        fitting = [
            u.unit
            for u in catalogue.units.values()
            if u.kind == kpi.kind and u.base_unit == kpi.base_unit
        ]
        return Invalid(
            f"unit {unit.unit} does not fit {kpi.kpi_code}, {_kind_phrase(kpi)}: "
            f"use {_or_list(fitting)}"
        )
    return unit


def duplicate_problem(kpi: Kpi, entity: Entity, period: str, first_row: int) -> str:
    """Why a row cannot be loaded when `first_row` had its key already."""
    return (
        f"duplicate row: {kpi.kpi_code} for {entity_text(entity)} in {period} "
        f"is already on row {first_row}"
    )


def percent_problem(value_text: str, unit: Unit) -> str | None:
    """Why a value written with a % sign cannot have this unit, or None."""
    if unit.unit != "%":
        return f"value '{excerpt(value_text)}' has a % sign but the unit is {unit.unit}"
    return None


class _Memo(dict):
    """cell text -> check(text), bounded: cleared when full, a long text never kept.

    Nearly every cell of a big file repeats one seen before, so each distinct text is
    checked once; a file of ever new texts costs a re-check per cell, never memory.
    """

    def __init__(self, check: Callable[[str | None], object]):
        super().__init__()
        self._check = check

    def __missing__(self, text: str | None) -> object:
        value = self._check(text)
        if text is None or len(text) <= MEMO_CELL_CHARS:
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
        for row in self.rows():
            yield FigureRow(
                Period.parse(self.period or "1900-01").first_day, self.lob_code or "", *row
            )

    def rows(self) -> Iterator[RowTuple]:
        """Stream the valid rows; afterwards `problems` holds every problem of the file."""
        try:
            yield from self._rows()
        finally:
            self._finish()

    def _open(self) -> Table | None:
        sheet_names: list[str] = []
        if self._lob.expected:
            sheet_names.append(self._lob.expected)
            lob = self.catalogue.lines_of_business.get(self._lob.expected)
            if lob:
                sheet_names.append(lob.name_zh)
        return read_table(self.path, self._add, sheet_names)

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
        rules = _RowRules(self, table.header, columns)
        check = rules.check
        data_rows = 0
        for row_number, cells in table.rows:
            data_rows += 1
            row = check(row_number, cells)
            if row is not None:
                yield row
        self.data_rows = data_rows
        if data_rows == 0:
            self._add(None, None, "the file has a header but no data rows")
            return
        self._report_missing_required(rules.reported_for, table.header[columns["kpi_code"]])

    def _report_missing_required(self, reported_for: set[str], kpi_header: str) -> None:
        """Every required KPI of the line needs the reporting bank's figure."""
        if not self.lob_code:
            return
        bank = self.catalogue.reporting_bank
        for kpi in self.catalogue.required_kpis(self.lob_code):
            if kpi.kpi_code not in reported_for:
                self._add(
                    None,
                    kpi_header,
                    f"required KPI {kpi.kpi_code} ({kpi.name_zh}) is missing "
                    f"for {bank.bank_code} ({bank.name_zh})",
                )


class _RowRules:
    """A file's row checker: the contract's rules (§6) in column order, each cell's checker
    memoised by the cell's text.

    Nearly every cell of a big file repeats one seen before (a handful of periods, KPIs and
    units, a few thousand entities), so a row costs a dictionary lookup per column, the
    value's number and the cross-column rules: the memos are the fast path, and there is
    no other. Value cells are not memoised: nearly each is new, and a plain number is
    checked by one pattern match.
    """

    def __init__(self, check: SubmissionCheck, header: list[str], columns: dict[str, int]):
        catalogue = check.catalogue
        self._file = check
        self._add = check._add
        self._catalogue = catalogue
        self._positions = (*(columns[name] for name in REQUIRED_COLUMNS), columns.get("note"))
        self._header = {name: header[position] for name, position in columns.items()}
        self._rank_max = len(catalogue.banks)
        self._reporting = catalogue.reporting_bank.bank_code
        self.periods = _Memo(check_period)
        self.lobs = _Memo(lambda text: check_lob(text, catalogue))
        self.kpis = _Memo(lambda text: check_kpi(text, catalogue, check.lob_code))
        self.entities = _Memo(lambda text: check_entity(text, catalogue))
        self._units: dict[str, _Memo] = {}  # kpi_code ('' when unknown) -> unit text -> unit
        self._period, self._lob = check._period, check._lob  # the file's one period and line
        self._keys = Keys()  # the rows' exact keys, by period and KPI
        self.reported_for: set[str] = set()  # KPIs with the reporting bank's figure

    def check(self, row_number: int, cells: list[str | None]) -> RowTuple | None:
        """The row normalised, or None when it breaks a rule (each problem reported).

        Each rule's usual outcome (the file's period, a KPI of the file's line) is one
        comparison here; anything else goes to the rule's own method, which reports it."""
        i_period, i_lob, i_kpi, i_entity, i_value, i_unit, i_note = self._positions
        period, lob = self.periods[cells[i_period]], self.lobs[cells[i_lob]]
        ok = period == self._period.value or self._one_per_file(row_number, period, "period")
        if lob != self._lob.value and not self._one_per_file(row_number, lob, "lob"):
            ok = False
        kpi = self.kpis[cells[i_kpi]]
        if type(kpi) is Invalid or kpi.lob_code != self._lob.value:
            kpi = self._kpi_of_line(row_number, kpi)
        entity = self.entities[cells[i_entity]]
        if type(entity) is Invalid:
            ok = self._refuse(row_number, "entity", entity)
        elif kpi is not None:
            if type(period) is str:
                first_row = self._keys[period, kpi.kpi_code].first_row(entity.key, row_number)
                if first_row is not None:
                    problem = duplicate_problem(kpi, entity, period, first_row)
                    self._add(row_number, self._header["kpi_code"], problem)
            if entity.code == self._reporting and entity.type == "bank":
                self.reported_for.add(kpi.kpi_code)
        figure = self._figure(row_number, cells[i_value], cells[i_unit], kpi)
        note = cells[i_note] if i_note is not None else None
        if note and not note.isprintable() and (problem := note_problem(note)):
            self._add(row_number, self._header["note"], problem)
            return None
        if not ok or figure is None or kpi is None or type(entity) is Invalid:
            return None
        number, qualifier, unit, value_base = figure
        return (
            kpi.kpi_code,
            entity.type,
            entity.code,
            number,
            unit,
            value_base,
            qualifier,
            note or None,
            note is not None and DEMO_NOTE in note,
            row_number,
        )

    def _refuse(self, row_number: int, column: str, invalid: Invalid) -> bool:
        if invalid.message:
            self._add(row_number, self._header[column], invalid.message)
        return False

    def _one_per_file(self, row_number: int, found: str | Invalid, column: str) -> bool:
        """The period and the line of business: valid, and the file's one (_OnePerFile)."""
        if type(found) is Invalid:
            return self._refuse(row_number, column, found)
        one = self._period if column == "period" else self._lob
        if problem := one.mismatch(found, row_number):
            self._add(row_number, self._header[column], problem)
            return False
        return True

    def _kpi_of_line(self, row_number: int, kpi: Kpi | Invalid) -> Kpi | None:
        """The row's KPI if valid and, once the file's line is known, that line's."""
        if type(kpi) is Invalid:
            self._refuse(row_number, "kpi_code", kpi)
            return None
        lob_code = self._lob.value
        if lob_code and (problem := kpi_line_problem(kpi, lob_code)):
            self._add(row_number, self._header["kpi_code"], problem)
            return None
        return kpi

    def _figure(
        self, row_number: int, value_text: str | None, unit_text: str | None, kpi: Kpi | None
    ) -> tuple[str, str | None, str, Decimal] | None:
        """(number, qualifier, unit, value_base) of the value and unit cells, or None."""
        value = check_value(value_text)
        if type(value) is Invalid:
            ok = self._refuse(row_number, "value", value)
            number = qualifier = None
            percent = plain = False
        else:
            ok = True
            number, qualifier, percent, plain = value
            if percent and unit_text == "":
                unit_text = "%"  # '82.5%' may leave its unit empty
        units = self._units.get(kpi.kpi_code if kpi is not None else "")
        unit = (units or self._unit_memo(kpi))[unit_text]
        if type(unit) is Invalid:
            ok = self._refuse(row_number, "unit", unit)
        elif percent and (problem := percent_problem(value_text, unit)):
            self._add(row_number, self._header["value"], problem)
            ok = False
        if number is None:
            return None
        if not plain and (problem := digits_problem(number)):
            self._add(row_number, self._header["value"], problem)
            return None
        if kpi is None or type(unit) is Invalid:
            return None
        value_base = unit.base_value(number)
        if problem := range_problem(number, value_base, kpi, self._rank_max):
            self._add(row_number, self._header["value"], problem)
            return None
        return (number, qualifier, unit.unit, value_base) if ok else None

    def _unit_memo(self, kpi: Kpi | None) -> _Memo:
        catalogue = self._catalogue
        memo = _Memo(lambda text: check_unit(text, kpi, catalogue))
        self._units[kpi.kpi_code if kpi is not None else ""] = memo
        return memo


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
