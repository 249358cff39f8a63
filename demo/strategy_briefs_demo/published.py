"""The special-edition page's published figures, read from `published_figures.csv`.

The one place the page's numbers (FIGURES.md) are written down: the sample generator
(`sample_data`), the dbt tests' raw rows (tests/dbt/sample_raw_rows.py) and the brief tests'
facts (tests/helpers/demo_facts.py) all read them here. Each row is one number the page
states, in the page's own terms (its header says what each measure means); what can be
derived from them (a prior year from a YoY rate, the runner-up from a lead, an earlier
month from a change since it) is derived here, exactly, in `Decimal`.

A row that does not fit the catalogue (an unknown KPI, unit, bank or measure) stops the
reading with `file:row:column: reason`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from strategy_briefs.catalogue import Catalogue, load_catalogue
from strategy_briefs.config import Settings
from strategy_briefs.periods import Period, PeriodError

FIGURES_FILE = Path(__file__).with_name("published_figures.csv")
COLUMNS = ("period", "lob_code", "kpi_code", "entity", "measure", "value", "unit")
COLUMNS += ("qualifier", "versus")
MEASURES = ("figure", "yoy_rate", "yoy_pp", "lead", "change_since")
QUALIFIERS = ("超过", "近", "余")
POINTS = "个百分点"  # the unit of a yoy_pp


class PublishedFigureError(ValueError):
    """A row of the figures file the catalogue cannot place."""


@dataclass(frozen=True)
class Statement:
    """One number the page states about one KPI of one entity in one month."""

    period: Period
    lob_code: str
    kpi_code: str
    entity: str  # 'icbc', 'ccb', … or 'branch:上海'
    measure: str  # one of MEASURES
    text: str  # the number as printed, without its qualifier
    unit: str
    qualifier: str | None  # 超过 | 近 | 余, as printed with it
    versus: str | None  # lead: the bank behind; change_since: the month ('2020-03')

    @property
    def value(self) -> Decimal:
        return Decimal(self.text)


@dataclass(frozen=True)
class PublishedPage:
    statements: tuple[Statement, ...]
    catalogue: Catalogue

    def figures(self) -> list[Statement]:
        """The page's figures (measure `figure`), in the file's order."""
        return [s for s in self.statements if s.measure == "figure"]

    def stated(self, kpi_code: str, measure: str, entity: str = "icbc") -> Statement | None:
        found = [
            s
            for s in self.statements
            if (s.kpi_code, s.measure, s.entity) == (kpi_code, measure, entity)
        ]
        return found[0] if found else None

    def figure(self, kpi_code: str, entity: str = "icbc") -> Statement:
        found = self.stated(kpi_code, "figure", entity)
        if found is None:
            raise KeyError(f"the page publishes no {kpi_code} of {entity}")
        return found

    def prior_year(self, kpi_code: str, decimals: int) -> tuple[Period, Decimal]:
        """The same month a year before: the figure ÷ (1 + its published YoY rate)."""
        figure, rate = self.figure(kpi_code), self.stated(kpi_code, "yoy_rate")
        value = figure.value / (1 + rate.value / 100)
        return figure.period.shift(-12), _rounded(value, decimals)

    def runner_up(self, kpi_code: str) -> tuple[str, Decimal]:
        """(bank, its figure in the figure's unit): the figure less the published lead."""
        figure, lead = self.figure(kpi_code), self.stated(kpi_code, "lead")
        units = self.catalogue.units
        behind = lead.value * units[lead.unit].factor / units[figure.unit].factor
        return lead.versus, _plain(figure.value - behind)

    def before_change(self, kpi_code: str) -> tuple[Period, Decimal]:
        """(the month named, the figure then): the figure less its published change since."""
        figure, change = self.figure(kpi_code), self.stated(kpi_code, "change_since")
        return Period.parse(change.versus), figure.value - change.value


def _rounded(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> Decimal:
    """`value` without trailing zeros, never in exponent form (7401, 3.6738)."""
    return Decimal(format(value.normalize(), "f"))


def _versus_fits(measure: str, versus: str, catalogue: Catalogue) -> bool:
    if measure == "lead":
        return versus in catalogue.banks
    if measure == "change_since":
        try:
            return bool(Period.parse(versus))
        except PeriodError:
            return False
    return not versus


@cache
def read_page(path: Path = FIGURES_FILE) -> PublishedPage:
    catalogue = load_catalogue(Settings.from_env().seeds_dir)
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [(n, line) for n, line in enumerate(handle, start=1) if not line.startswith("#")]
    rows = csv.DictReader(line for _, line in lines)
    if tuple(rows.fieldnames or ()) != COLUMNS:
        raise PublishedFigureError(f"{path}:{lines[0][0]}: header must be {','.join(COLUMNS)}")
    statements: dict[tuple[str, str, str], Statement] = {}
    for (number, _), row in zip(lines[1:], rows, strict=True):
        statement = _statement(row, catalogue, f"{path}:{number}")
        key = (statement.kpi_code, statement.entity, statement.measure)
        if key in statements:
            raise PublishedFigureError(f"{path}:{number}: {' '.join(key)} is stated twice")
        statements[key] = statement
    return PublishedPage(tuple(statements.values()), catalogue)


def _statement(row: dict[str, str], catalogue: Catalogue, where: str) -> Statement:
    def refuse(column: str, reason: str) -> PublishedFigureError:
        return PublishedFigureError(f"{where}:{column}: {reason}: {row[column]!r}")

    try:
        period = Period.parse(row["period"])
    except PeriodError:
        raise refuse("period", "not a YYYY-MM month") from None
    kpi = catalogue.kpis.get(row["kpi_code"])
    if kpi is None or kpi.lob_code != row["lob_code"]:
        raise refuse("kpi_code", f"not a KPI of {row['lob_code']} in kpi_catalogue")
    entity = row["entity"]
    if not (entity.startswith("branch:") and entity[7:]) and entity not in catalogue.banks:
        raise refuse("entity", "neither a bank of peer_banks nor branch:<name>")
    if row["measure"] not in MEASURES:
        raise refuse("measure", f"not one of {', '.join(MEASURES)}")
    try:
        Decimal(row["value"])
    except InvalidOperation:
        raise refuse("value", "not a number") from None
    unit_known = (
        row["unit"] == POINTS if row["measure"] == "yoy_pp" else row["unit"] in catalogue.units
    )
    if not unit_known:
        raise refuse("unit", f"not a unit a {row['measure']} is stated in")
    if row["qualifier"] and row["qualifier"] not in QUALIFIERS:
        raise refuse("qualifier", f"not one of {', '.join(QUALIFIERS)}")
    if not _versus_fits(row["measure"], row["versus"], catalogue):
        raise refuse("versus", "a lead names its bank, a change_since its month; nothing else")
    return Statement(
        period=period,
        lob_code=row["lob_code"],
        kpi_code=row["kpi_code"],
        entity=entity,
        measure=row["measure"],
        text=row["value"],
        unit=row["unit"],
        qualifier=row["qualifier"] or None,
        versus=row["versus"] or None,
    )
