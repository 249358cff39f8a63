"""The catalogue: what may be submitted, read from the dbt seeds (the single list).

Adding a line of business, a KPI, a unit or a bank is a change to
`dbt_project/seeds/*.csv`, never to code.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path

KINDS = ("count", "amount", "ratio", "weight", "rank")
# A brief's KPI table prints the short name on one line at its width (templates/css/style.css).
MAX_SHORT_NAME_CHARS = 10


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "t", "1", "yes", "y"):
        return True
    if value in ("false", "f", "0", "no", "n", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


@dataclass(frozen=True)
class Kpi:
    kpi_code: str
    lob_code: str
    name_zh: str
    short_name_zh: str  # the brief table's name: '客户数'
    name_en: str
    kind: str  # count | amount | ratio | weight | rank
    base_unit: str
    is_ytd: bool
    higher_is_better: bool
    is_required: bool
    is_headline: bool
    display_order: int
    parent_kpi_code: str | None
    ranks_kpi_code: str | None
    change_decimals: int  # most decimals a brief prints for its 同比/环比
    theme: str | None  # the article paragraph it is written in ('重点客群渗透'); None: 其他
    # a 同比 rise of at least this reads rounded down with 以上 ('提升10个百分点以上')
    change_round_step: Decimal | None


@dataclass(frozen=True)
class Unit:
    unit: str
    base_unit: str
    factor: Decimal  # value_base = value * factor
    kind: str

    def base_value(self, number: Decimal | str) -> Decimal:
        """A number stated in this unit, in its base unit (ratios become fractions: 82.5 %
        is 0.825): the `value_base` the warehouse keeps."""
        return Decimal(number) * self.factor


@dataclass(frozen=True)
class LineOfBusiness:
    lob_code: str
    name_zh: str
    name_en: str
    department_zh: str
    department_en: str
    credit_line: str
    article_order: int


@dataclass(frozen=True)
class Bank:
    bank_code: str
    name_zh: str
    short_name_zh: str
    name_en: str
    is_reporting_bank: bool


@dataclass(frozen=True)
class Catalogue:
    kpis: dict[str, Kpi]
    units: dict[str, Unit]
    lines_of_business: dict[str, LineOfBusiness]
    banks: dict[str, Bank]

    @property
    def reporting_bank(self) -> Bank:
        return next(bank for bank in self.banks.values() if bank.is_reporting_bank)

    def kpis_of(self, lob_code: str) -> list[Kpi]:
        """The KPIs of one line of business in display order."""
        return sorted(
            (k for k in self.kpis.values() if k.lob_code == lob_code),
            key=lambda k: (k.display_order, k.kpi_code),
        )

    def required_kpis(self, lob_code: str) -> list[Kpi]:
        return [k for k in self.kpis_of(lob_code) if k.is_required]

    def lob_by_name(self, text: str) -> LineOfBusiness | None:
        """A line of business by its code or its Chinese name."""
        text = text.strip()
        if text in self.lines_of_business:
            return self.lines_of_business[text]
        return next((lob for lob in self.lines_of_business.values() if lob.name_zh == text), None)

    def bank_by_name(self, text: str) -> Bank | None:
        """A bank by its code (any case), full or short Chinese name."""
        text = text.strip()
        lowered = text.lower()
        for bank in self.banks.values():
            if lowered == bank.bank_code or text in (bank.name_zh, bank.short_name_zh):
                return bank
        return None


def _optional(text: str) -> str | None:
    return text or None


def _optional_decimal(text: str) -> Decimal | None:
    return Decimal(text) if text else None


# How a seed column's text becomes its field's value, where it is not the text itself.
_KPI_COLUMNS = dict(
    is_ytd=_bool,
    higher_is_better=_bool,
    is_required=_bool,
    is_headline=_bool,
    display_order=int,
    parent_kpi_code=_optional,
    ranks_kpi_code=_optional,
    change_decimals=int,
    theme=_optional,
    change_round_step=_optional_decimal,
)


def _record(cls, row: dict[str, str], **columns: Callable[[str], object]):
    """A `cls` from a seed row whose columns are named as its fields (others are ignored)."""
    return cls(**{f.name: columns.get(f.name, str)(row[f.name]) for f in fields(cls)})


def _kpi(row: dict[str, str]) -> Kpi:
    if row["kind"] not in KINDS:
        raise ValueError(f"kpi_catalogue.csv: {row['kpi_code']}: unknown kind {row['kind']!r}")
    if not 1 <= len(row["short_name_zh"]) <= MAX_SHORT_NAME_CHARS:
        raise ValueError(
            f"kpi_catalogue.csv: {row['kpi_code']}: short_name_zh must have 1 to "
            f"{MAX_SHORT_NAME_CHARS} characters, got {row['short_name_zh']!r}"
        )
    return _record(Kpi, row, **_KPI_COLUMNS)


def load_catalogue(seeds_dir: Path) -> Catalogue:
    """Read kpi_catalogue.csv, units.csv, lines_of_business.csv and peer_banks.csv."""
    seeds_dir = Path(seeds_dir)
    kpis = {row["kpi_code"]: _kpi(row) for row in _rows(seeds_dir / "kpi_catalogue.csv")}
    units = {
        row["unit"]: _record(Unit, row, factor=Decimal) for row in _rows(seeds_dir / "units.csv")
    }
    lines = {
        row["lob_code"]: _record(LineOfBusiness, row, article_order=int)
        for row in _rows(seeds_dir / "lines_of_business.csv")
    }
    banks = {
        row["bank_code"]: _record(Bank, row, is_reporting_bank=_bool)
        for row in _rows(seeds_dir / "peer_banks.csv")
    }
    for kpi in kpis.values():
        if kpi.lob_code not in lines:
            raise ValueError(f"kpi_catalogue.csv: {kpi.kpi_code}: unknown lob {kpi.lob_code!r}")
    if sum(bank.is_reporting_bank for bank in banks.values()) != 1:
        raise ValueError("peer_banks.csv: exactly one bank must have is_reporting_bank = true")
    return Catalogue(kpis=kpis, units=units, lines_of_business=lines, banks=banks)
