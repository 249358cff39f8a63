"""Reading submissions: bytes -> header + rows of cell text, and value cells -> numbers.

CSV files are decoded without being told the encoding (UTF-8, UTF-8 with BOM, GB18030/GBK:
what Excel on Chinese Windows writes). `.xlsx` workbooks are read with openpyxl in
read-only mode, never evaluated: formula cells are reported, text cells are text.

Rows come out as `(row_number, cells)` with the row number a spreadsheet shows (the
header is row 1) and every cell as stripped text; a cell that could not be read is `None`
(its problem is already reported). Reading streams, so a million-row file is never held
in memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.ingest.incoming import excerpt, refusal

# Canonical column names in order, and their accepted Chinese (and spelling) aliases.
COLUMNS = ("period", "lob", "kpi_code", "entity", "value", "unit", "note")
REQUIRED_COLUMNS = ("period", "lob", "kpi_code", "entity", "value", "unit")
CHINESE_HEADERS = {
    "period": "期间",
    "lob": "业务条线",
    "kpi_code": "指标代码",
    "entity": "主体",
    "value": "数值",
    "unit": "单位",
    "note": "备注",
}
HEADER_ALIASES: dict[str, str] = {name: name for name in COLUMNS}
HEADER_ALIASES.update({zh: name for name, zh in CHINESE_HEADERS.items()})
HEADER_ALIASES.update({"lob_code": "lob", "kpi": "kpi_code"})

# Qualifiers as printed -> the stored qualifier (超过 | 近 | 余). 接近/将近 mean the same as 近
# ("nearly") and 超/逾 the same as 超过 ("over"); 多 after a number means the same as 余.
QUALIFIER_PREFIXES = (
    ("超过", "超过"),
    ("接近", "近"),
    ("将近", "近"),
    ("超", "超过"),
    ("逾", "超过"),
    ("近", "近"),
)  # longest first
QUALIFIER_SUFFIXES = (("余", "余"), ("多", "余"))

_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_XLSX_DECIMALS = re.compile(r"\.(0+)")

ProblemSink = Callable[[int | None, str | None, str], None]  # (row, column, message)


class ValueFormatError(ValueError):
    """A value cell that is not a number (the message says why)."""


@dataclass(frozen=True)
class ParsedValue:
    number: str  # as printed, without qualifier, thousands separators or a leading '+'
    qualifier: str | None  # 超过 | 近 | 余
    percent: bool  # the cell carried a % sign (or an Excel percent format)


def parse_value(text: str) -> ParsedValue:
    """'超过4,800' -> ('4800', '超过'); '3000余' -> ('3000', '余'); '82.5%' -> percent.

    Raises `ValueFormatError` when what is left is not a plain decimal number.
    """
    original = text
    text = unicodedata.normalize("NFKC", text).strip()
    qualifier = None
    for printed, stored in QUALIFIER_PREFIXES:
        if text.startswith(printed):
            qualifier, text = stored, text[len(printed) :].strip()
            break
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    for printed, stored in QUALIFIER_SUFFIXES:
        if text.endswith(printed):
            if qualifier is not None:
                raise ValueFormatError(f"value '{excerpt(original)}' has two qualifiers")
            qualifier, text = stored, text[: -len(printed)].strip()
            break
    if not percent and text.endswith("%"):  # '3000余%' is odd but unambiguous
        percent, text = True, text[:-1].strip()
    if not _NUMBER.fullmatch(text):
        raise ValueFormatError(f"value '{excerpt(original)}' is not a number")
    number = text.replace(",", "")
    if number.startswith("+"):
        number = number[1:]
    return ParsedValue(number=number, qualifier=qualifier, percent=percent)


def canonical_header(text: str) -> str | None:
    """The canonical column name for a header cell, or None when it is not one."""
    key = unicodedata.normalize("NFKC", text).strip()
    return HEADER_ALIASES.get(key) or HEADER_ALIASES.get(key.lower())


# ---------------------------------------------------------------- encodings


class Undecodable(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


_CHUNK = 1 << 20
_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")  # CJK, full-width forms

# .xlsx bounds: a submission has seven columns and at most Excel's 1,048,576 rows. A sheet
# that declares more columns than this (one stray cell at XFD1048576 declares 16,384) is
# refused before a cell is read; openpyxl would pad every row to the declared width.
XLSX_MAX_DECLARED_COLUMNS = 256
# Excel's own row limit: a sheet declaring more was not written by a spreadsheet.
XLSX_MAX_ROWS = 1_048_576
# The header is looked for in this many first rows only.
XLSX_HEADER_SEARCH_ROWS = 1000
# Reading stops after this many empty rows in a row: openpyxl yields a padded row for every
# row in a gap, so a stray cell at IV1048576 would cost a million padded rows (minutes).
XLSX_EMPTY_ROW_RUN = 1000
# The most characters one cell may hold, CSV or .xlsx: Python's csv reader stops at this
# (its default field_size_limit), so a file is never held whole as one runaway cell.
MAX_CELL_CHARS = csv.field_size_limit()
_CELL_TOO_LONG = (
    f"a cell of this row is longer than {MAX_CELL_CHARS:,} characters, the most a cell "
    "may hold: the file is damaged or not a submission (nothing after it was read)"
)


def _first_failure(path: Path, encoding: str, skip: int) -> tuple[int, bool] | None:
    """Decode the file in chunks; None if it decodes, else (byte offset of the first bad
    byte, whether non-ASCII text decoded fine before it)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = skip
    saw_non_ascii = False
    with path.open("rb") as handle:
        handle.seek(skip)
        while True:
            chunk = handle.read(_CHUNK)
            final = not chunk
            held = decoder.getstate()[0]  # bytes held back from the last chunk
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as error:
                before = (held + chunk)[: error.start]
                return offset - len(held) + error.start, saw_non_ascii or not before.isascii()
            if not saw_non_ascii and not text.isascii():
                saw_non_ascii = True
            if final:
                return None
            offset += len(chunk)


def _line_of(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n") + 1


def _first_utf8_cjk_line(path: Path) -> int | None:
    """The first line that is valid UTF-8 with CJK characters in it, or None.

    Such a line also decodes as GB18030, into mojibake (广东 -> 骞夸笢); real GBK text is
    almost never valid UTF-8. 0x0A is never part of a GB18030 character, so lines split
    safely on bytes.
    """
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.isascii():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if _CJK.search(text):
                return number
    return None


def detect_encoding(path: Path) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030'; raises `Undecodable` otherwise.

    A GBK file fails UTF-8 at its first Chinese character, so UTF-8 that fails only
    after decoding non-ASCII text fine is a damaged UTF-8 file, not GBK. A GB18030 file
    with a line that is valid UTF-8 Chinese mixes encodings and is refused too.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Undecodable(
            1, "the file is UTF-16 (Excel 'Unicode Text'): save it as 'CSV UTF-8' or 'CSV'"
        )
    if head.startswith(codecs.BOM_UTF8):
        failure = _first_failure(path, "utf-8", len(codecs.BOM_UTF8))
        if failure is None:
            return "utf-8-sig"
        line = _line_of(path, failure[0])
        raise Undecodable(
            line,
            f"cannot decode line {line} as UTF-8 (the file starts with a "
            "UTF-8 byte-order mark): save it as 'CSV UTF-8'",
        )
    failure = _first_failure(path, "utf-8", 0)
    if failure is None:
        return "utf-8"
    offset, saw_non_ascii = failure
    if saw_non_ascii:
        line = _line_of(path, offset)
        raise Undecodable(
            line,
            f"cannot decode line {line} as UTF-8 although the lines before it are UTF-8: "
            "the file is damaged or mixes encodings; save it again as 'CSV UTF-8'",
        )
    gb_failure = _first_failure(path, "gb18030", 0)
    if gb_failure is None:
        utf8_line = _first_utf8_cjk_line(path)
        if utf8_line is not None:
            raise Undecodable(
                utf8_line,
                f"line {utf8_line} is UTF-8 Chinese text but the lines before it are "
                "GBK/GB18030: the file mixes encodings; save it again as 'CSV UTF-8'",
            )
        return "gb18030"
    line = _line_of(path, max(offset, gb_failure[0]))
    raise Undecodable(
        line,
        f"cannot decode line {line}: the file is neither UTF-8 nor "
        "GBK/GB18030; save it as 'CSV UTF-8'",
    )


# ---------------------------------------------------------------- tables


@dataclass
class Table:
    """A submission's sheet: header cells and a stream of rows."""

    header_row: int
    header: list[str]
    rows: Iterator[tuple[int, list[str | None]]]
    encoding: str  # 'utf-8' | 'utf-8-sig' | 'gb18030' | 'xlsx'
    close: Callable[[], None]


def _clean(text: str) -> str:
    return text.strip()


def read_csv(path: Path, on_problem: ProblemSink) -> Table | None:
    """A CSV submission; None when it cannot be read at all (the problem is reported)."""
    try:
        encoding = detect_encoding(path)
    except Undecodable as error:
        on_problem(error.line, None, error.message)
        return None
    handle = path.open(encoding=encoding, newline="")
    reader = csv.reader(handle, strict=True)
    position = [0]  # the spreadsheet row of the last record read (a blank line is a row)

    def csv_failed(error: csv.Error) -> None:
        row = position[0] + 1
        if "unexpected end of data" in str(error):
            on_problem(row, None, "the file ends inside a quoted cell: it looks truncated")
        elif "field larger than field limit" in str(error):
            on_problem(row, None, _CELL_TOO_LONG)
        else:
            on_problem(row, None, f"cannot read this row as CSV: {error}")

    header: list[str] = []
    try:
        for record in reader:
            position[0] += 1
            if any(cell.strip() for cell in record):
                header = [_clean(c) for c in record]
                break
    except csv.Error as error:
        csv_failed(error)
        handle.close()
        return None
    if not header:
        handle.close()
        on_problem(None, None, "the file is empty: expected a header row and data rows")
        return None
    while not header[-1]:
        header.pop()  # Excel writes trailing empty header cells
    header_row, width = position[0], len(header)
    ends_with_newline = _ends_with_newline(path)

    def rows() -> Iterator[tuple[int, list[str | None]]]:
        strip = str.strip
        row_number = header_row
        short: tuple[int, int] | None = None  # a short row: truncated if it is the last
        try:
            for record in reader:
                row_number += 1
                if short is not None:
                    _wrong_width(on_problem, *short, width)
                    short = None
                cells = list(map(strip, record))
                if len(cells) != width:
                    if not any(cells):
                        continue
                    if len(cells) > width and not any(cells[width:]):
                        cells = cells[:width]  # trailing empty cells from Excel
                    elif len(cells) < width:
                        short = (row_number, len(cells))
                        continue
                    else:
                        _wrong_width(on_problem, row_number, len(cells), width)
                        continue
                elif not any(cells):
                    continue  # blank row: Excel shows it, nobody means it
                yield row_number, cells  # type: ignore[misc]
        except csv.Error as error:
            position[0] = row_number
            csv_failed(error)
        finally:
            handle.close()
        if short is not None:
            if ends_with_newline:
                _wrong_width(on_problem, *short, width)
            else:
                on_problem(
                    short[0],
                    None,
                    f"the file ends in the middle of this row ({short[1]} of {width} cells): "
                    "it looks truncated",
                )

    return Table(header_row, header, rows(), encoding, handle.close)


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return True
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def _wrong_width(on_problem: ProblemSink, row_number: int, cells: int, width: int) -> None:
    on_problem(row_number, None, f"this row has {cells} cells, the header has {width}")


def _xlsx_number_text(value: int | float, number_format: str | None) -> str:
    """A numeric cell as the sheet shows it: the format's decimals, else the shortest form."""
    percent = bool(number_format) and "%" in number_format  # type: ignore[operator]
    if percent:
        value = value * 100
    decimals_match = _XLSX_DECIMALS.search(number_format or "")
    if decimals_match:
        text = f"{value:.{len(decimals_match.group(1))}f}"
    elif isinstance(value, int) or float(value).is_integer():
        text = str(int(value))
    else:
        text = repr(float(value))
        if percent:  # 0.825 * 100 = 82.49999999999999: show what Excel shows
            text = f"{value:.10f}".rstrip("0").rstrip(".")
        if "e" in text or "E" in text:
            text = f"{value:.15f}".rstrip("0").rstrip(".")
    return text + ("%" if percent else "")


def read_xlsx(path: Path, on_problem: ProblemSink, sheet_names: Sequence[str] = ()) -> Table | None:
    """An .xlsx submission: the sheet named like one of `sheet_names`, else the first."""
    import zipfile

    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        on_problem(
            None,
            None,
            f"not a readable .xlsx workbook (truncated or damaged: {type(error).__name__})",
        )
        return None
    if not workbook.worksheets:
        workbook.close()
        on_problem(None, None, "the file is empty: expected a header row and data rows")
        return None
    by_name = {name.strip(): name for name in workbook.sheetnames}
    chosen = next((by_name[n] for n in sheet_names if n in by_name), workbook.sheetnames[0])
    sheet = workbook[chosen]
    declared_columns = sheet.max_column or 0
    if declared_columns > XLSX_MAX_DECLARED_COLUMNS:
        workbook.close()
        on_problem(
            None,
            None,
            f"the sheet declares {declared_columns} columns and {sheet.max_row or 0} rows "
            f"(up to {openpyxl.utils.get_column_letter(declared_columns)}{sheet.max_row or 0}),"
            f" more than the {XLSX_MAX_DECLARED_COLUMNS} a submission may have: delete the "
            "cells outside the table (Ctrl+End shows the last one) and save again",
        )
        return None
    declared_rows = sheet.max_row or 0
    if declared_rows > XLSX_MAX_ROWS:
        workbook.close()
        on_problem(
            None,
            None,
            f"the sheet declares {declared_rows:,} rows, more than the {XLSX_MAX_ROWS:,} a "
            "spreadsheet can hold: the file is damaged or not a submission",
        )
        return None
    sheet.reset_dimensions()  # rows as stored, not padded to a declared size
    header_rows = sheet.iter_rows(min_row=1)
    columns: list[str] = []

    def cell_text(cell, row_number: int, index: int) -> str | None:
        value = cell.value
        if value is None:
            return ""
        if cell.data_type == "f" or not isinstance(value, str | int | float | dt.date):
            column = columns[index] if index < len(columns) else None
            formula = excerpt(str(getattr(value, "text", value)))
            on_problem(
                row_number,
                column or None,
                f"cell holds a formula ({formula}): type the value itself",
            )
            return None
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, dt.datetime | dt.date):
            return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        if isinstance(value, int | float):
            return _xlsx_number_text(value, cell.number_format)
        if len(value) > MAX_CELL_CHARS:  # Excel's own limit is 32,767: a crafted file
            on_problem(
                row_number,
                columns[index] if index < len(columns) else None,
                f"the cell is longer than {MAX_CELL_CHARS:,} characters, the most a cell may hold",
            )
            return None
        return _clean(value)

    header_row, header = 0, []
    try:
        for row_number, cells in enumerate(header_rows, start=1):
            if row_number > XLSX_HEADER_SEARCH_ROWS:
                break
            texts = [cell_text(c, row_number, i) for i, c in enumerate(cells)]
            if any(t for t in texts):
                header_row, header = row_number, [t or "" for t in texts]
                break
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        workbook.close()
        on_problem(
            None,
            None,
            f"not a readable .xlsx workbook (truncated or damaged: {type(error).__name__})",
        )
        return None
    while header and not header[-1]:
        header.pop()
    if not header:
        workbook.close()
        on_problem(None, None, "the file is empty: expected a header row and data rows")
        return None
    columns.extend(header)
    width = len(header)
    # Every declared column (at most XLSX_MAX_DECLARED_COLUMNS), so a cell beyond the header
    # is reported, never dropped; the sheet's gaps cost one short empty tuple a row.
    raw_rows = sheet.iter_rows(min_row=header_row + 1, max_col=max(declared_columns, width))

    def rows() -> Iterator[tuple[int, list[str | None]]]:
        empty_since = header_row  # the last row with something in it
        try:
            for row_number, cells in enumerate(raw_rows, start=header_row + 1):
                texts = [cell_text(c, row_number, i) for i, c in enumerate(cells)]
                if not any(t is None or t for t in texts):
                    if row_number - empty_since >= XLSX_EMPTY_ROW_RUN:
                        _unread_rows(on_problem, empty_since, declared_rows)
                        break
                    continue
                empty_since = row_number
                if len(texts) > width:
                    if any(t is None or t for t in texts[width:]):
                        on_problem(
                            row_number,
                            None,
                            f"this row has cells beyond the header's {width} columns",
                        )
                        continue
                    texts = texts[:width]
                texts.extend([""] * (width - len(texts)))
                yield row_number, texts
        finally:
            workbook.close()

    return Table(header_row, header, rows(), "xlsx", workbook.close)


def _unread_rows(on_problem: ProblemSink, last_row: int, declared_rows: int) -> None:
    """Reading stopped after a run of empty rows: a sheet declaring rows further down is
    refused, so a cell down there is reported, never silently dropped."""
    if declared_rows > last_row + XLSX_EMPTY_ROW_RUN:
        on_problem(
            None,
            None,
            f"the sheet declares rows down to {declared_rows:,} but rows "
            f"{last_row + 1:,}-{last_row + XLSX_EMPTY_ROW_RUN:,} are empty, so nothing "
            f"below them was read: delete the cells outside the table (Ctrl+End shows the "
            "last one) and save again",
        )


def read_table(
    path: Path, on_problem: ProblemSink, sheet_names: Sequence[str] = ()
) -> Table | None:
    """Open a submission by its extension (.csv or .xlsx)."""
    suffix = path.suffix.lower()
    reason = refusal(path)  # a symlink, a FIFO, a name with control characters: not opened
    if reason is not None:
        on_problem(None, None, reason)
        return None
    if not path.is_file():
        on_problem(None, None, "no such file")
        return None
    if path.stat().st_size == 0:
        on_problem(None, None, "the file is empty: expected a header row and data rows")
        return None
    if suffix == ".csv":
        return read_csv(path, on_problem)
    if suffix == ".xlsx":
        return read_xlsx(path, on_problem, sheet_names)
    on_problem(None, None, f"unsupported file type '{path.suffix}': submit .csv or .xlsx")
    return None
