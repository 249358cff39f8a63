"""The one rule that turns a DAG run into the reporting month it works on.

The monthly DAG uses a `CronDataIntervalTimetable` that fires on a fixed day early in
each month (Asia/Shanghai). Every kind of run then carries a non-empty data interval
that starts in the reporting month and ends when the run may start:

- scheduled and backfilled runs: the interval the timetable produced;
- manual runs (UI, `dags test`, `strategy-briefs run`): Airflow infers the last complete
  interval before the logical date (`infer_manual_data_interval`).

The reporting month is the calendar month, in the bank's time zone, of the interval's
start. We never read the wall clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

BANK_TIMEZONE_NAME = "Asia/Shanghai"
BANK_TIMEZONE = ZoneInfo(BANK_TIMEZONE_NAME)
# The spans the page names by the quarter they close.
_QUARTER_END_SPANS_ZH = {3: "一季度", 6: "上半年", 9: "前三季度", 12: "全年"}
_PERIOD_RE = re.compile(r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$")
# The spellings a submission's period cell may use (docs/submission-contract.md): '2020-06',
# '2020/6', '2020.6', '2020年6月', a date in the month ('2020-06-30', '2020年6月30日'), '202006'.
_SUBMITTED_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:\s*[-/.]\s*(\d{1,2})\s*日?|\s*(\d{1,2})\s*日)?"
)
_SUBMITTED_COMPACT_RE = re.compile(r"(\d{4})(\d{2})")
_SUBMITTED_YEARS = range(1900, 3000)
# A month's briefs are dated the first day of the next month at this hour, bank time.
PUBLICATION_HOUR = 9


class PeriodError(ValueError):
    """A period string or a data interval that cannot name a reporting month."""


@dataclass(frozen=True, order=True)
class Period:
    """A reporting month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD_RE.match(text.strip())
        if not match:
            raise PeriodError(f"period must look like YYYY-MM (e.g. 2020-06), got {text!r}")
        return cls(int(match["year"]), int(match["month"]))

    @classmethod
    def from_cell(cls, text: str) -> Period | None:
        """A submission's period cell in any spelling the submission contract accepts
        ('2020/6', '2020年6月', '202006', '2020-06-30'); None when it names no month."""
        text = unicodedata.normalize("NFKC", text).strip()
        match = _SUBMITTED_RE.fullmatch(text) or _SUBMITTED_COMPACT_RE.fullmatch(text)
        if not match:
            return None
        year, month = int(match.group(1)), int(match.group(2))
        if year not in _SUBMITTED_YEARS or not 1 <= month <= 12:
            return None
        day = next((g for g in match.groups()[2:] if g), None)
        if day is not None:
            try:
                date(year, month, int(day))
            except ValueError:
                return None
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Period:
        """The month a date falls in (the warehouse keeps a month as its first day)."""
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def shift(self, months: int) -> Period:
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    @property
    def published_at(self) -> datetime:
        """When the month's briefs are dated: the first day of the next month, 09:00 bank
        time (the PDFs' creation date, derived from the month, never the clock)."""
        following = self.shift(1)
        return datetime(following.year, following.month, 1, PUBLICATION_HOUR, tzinfo=BANK_TIMEZONE)

    @property
    def label_zh(self) -> str:
        return f"{self.year}年{self.month}月"

    @property
    def month_end_zh(self) -> str:
        """How a point-in-time figure's date reads: '截至6月末'."""
        return f"截至{self.month}月末"

    @property
    def year_to_date_zh(self) -> str:
        """How a year-to-date figure's span reads: 一季度, 上半年, 前三季度, 全年 at the
        quarter ends, '1-N月' otherwise ('1月' in January)."""
        if self.month in _QUARTER_END_SPANS_ZH:
            return _QUARTER_END_SPANS_ZH[self.month]
        return "1月" if self.month == 1 else f"1-{self.month}月"

    @property
    def year_to_date_label_zh(self) -> str:
        """'2020年上半年', '2020年1-7月': the masthead's period, by the year-to-date rule."""
        return f"{self.year}年{self.year_to_date_zh}"


def reporting_period(
    data_interval_start: datetime | None, data_interval_end: datetime | None
) -> Period:
    """The reporting month of a DAG run, from its data interval."""
    if data_interval_start is None or data_interval_end is None:
        raise PeriodError(
            "this run has no data interval; the monthly DAG needs a CronDataIntervalTimetable"
        )
    if data_interval_end <= data_interval_start:
        raise PeriodError(
            f"empty data interval {data_interval_start.isoformat()} .. {data_interval_end.isoformat()}:"
            " the monthly DAG needs a CronDataIntervalTimetable"
        )
    local_start = data_interval_start.astimezone(BANK_TIMEZONE)
    return Period(local_start.year, local_start.month)


def run_time_for(period: Period, *, day: int, hour: int) -> datetime:
    """When the schedule runs for `period`: day `day` of the following month, bank time.

    Used as the logical date of a manual run for a named month, so that Airflow's inferred
    interval starts inside that month.
    """
    following = period.shift(1)
    return datetime(following.year, following.month, day, hour, tzinfo=BANK_TIMEZONE)


def months_between(first: Period, last: Period) -> list[Period]:
    if last < first:
        raise PeriodError(f"{last} is before {first}")
    out, current = [], first
    while current <= last:
        out.append(current)
        current = current.shift(1)
    return out


__all__ = [
    "BANK_TIMEZONE",
    "BANK_TIMEZONE_NAME",
    "Period",
    "PeriodError",
    "months_between",
    "reporting_period",
    "run_time_for",
]
