"""Every kind of run agrees on the reporting month: scheduled, backfilled, manual, CLI."""

from datetime import datetime

import pytest
from airflow.timetables.base import TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable

from strategy_briefs.periods import (
    BANK_TIMEZONE,
    Period,
    PeriodError,
    reporting_period,
    run_time_for,
)

DAY, HOUR = 5, 6
TIMETABLE = CronDataIntervalTimetable(f"0 {HOUR} {DAY} * *", timezone=BANK_TIMEZONE)
START = datetime(2019, 7, DAY, HOUR, tzinfo=BANK_TIMEZONE)


def _scheduled_intervals(count: int):
    """The intervals the scheduler (and a backfill, which walks the same timetable) creates."""
    restriction = TimeRestriction(earliest=START, latest=None, catchup=True)
    last = None
    for _ in range(count):
        info = TIMETABLE.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        yield info.data_interval
        last = info.data_interval


def test_scheduled_and_backfilled_runs_report_consecutive_months_from_the_start():
    months = [str(reporting_period(i.start, i.end)) for i in _scheduled_intervals(12)]
    assert months == [str(Period(2019, 7).shift(n)) for n in range(12)]


def test_a_manual_run_reports_the_month_just_ended():
    # An operator clicks "trigger" on 12 July 2020 (bank time): June is the month just ended.
    interval = TIMETABLE.infer_manual_data_interval(
        run_after=datetime(2020, 7, 12, 15, 30, tzinfo=BANK_TIMEZONE)
    )
    assert str(reporting_period(interval.start, interval.end)) == "2020-06"


def test_a_manual_run_before_the_schedule_day_reports_the_month_before():
    # Before the 5th the month just ended has not had its scheduled slot yet.
    interval = TIMETABLE.infer_manual_data_interval(
        run_after=datetime(2020, 7, 2, 9, 0, tzinfo=BANK_TIMEZONE)
    )
    assert str(reporting_period(interval.start, interval.end)) == "2020-05"


@pytest.mark.parametrize("period", ["2020-06", "2019-12", "2020-01"])
def test_cli_logical_date_gives_back_the_requested_month(period):
    logical_date = run_time_for(Period.parse(period), day=DAY, hour=HOUR)
    interval = TIMETABLE.infer_manual_data_interval(run_after=logical_date)
    assert str(reporting_period(interval.start, interval.end)) == period


def test_cli_and_scheduler_agree_on_the_same_interval():
    scheduled = list(_scheduled_intervals(12))[-1]
    month = reporting_period(scheduled.start, scheduled.end)
    manual = TIMETABLE.infer_manual_data_interval(run_after=run_time_for(month, day=DAY, hour=HOUR))
    assert (manual.start, manual.end) == (scheduled.start, scheduled.end)


def test_interval_start_near_midnight_utc_uses_bank_time():
    # 2020-05-31T17:00Z is 1 June 01:00 in Shanghai.
    start = datetime.fromisoformat("2020-05-31T17:00:00+00:00")
    end = datetime.fromisoformat("2020-06-30T17:00:00+00:00")
    assert str(reporting_period(start, end)) == "2020-06"


def test_empty_interval_is_refused_with_a_reason():
    moment = datetime(2020, 7, 5, 6, tzinfo=BANK_TIMEZONE)
    with pytest.raises(PeriodError, match="CronDataIntervalTimetable"):
        reporting_period(moment, moment)
    with pytest.raises(PeriodError, match="no data interval"):
        reporting_period(None, None)


@pytest.mark.parametrize("text", ["2020-13", "2020-6", "June", "2020-00", ""])
def test_bad_period_text_is_refused(text):
    with pytest.raises(PeriodError, match="YYYY-MM"):
        Period.parse(text)


@pytest.mark.parametrize(
    ("month", "span", "label"),
    [
        (1, "1月", "2020年1月"),
        (2, "1-2月", "2020年1-2月"),
        (3, "一季度", "2020年一季度"),
        (6, "上半年", "2020年上半年"),
        (7, "1-7月", "2020年1-7月"),
        (9, "前三季度", "2020年前三季度"),
        (11, "1-11月", "2020年1-11月"),
        (12, "全年", "2020年全年"),
    ],
)
def test_year_to_date_span_follows_the_month(month, span, label):
    period = Period(2020, month)
    assert period.year_to_date_zh == span
    assert period.year_to_date_label_zh == label
    assert period.month_end_zh == f"截至{month}月末"


@pytest.mark.parametrize(
    "text",
    [
        "2020-06",
        "2020/6",
        "2020.06",
        "2020年6月",
        "２０２０年６月",
        "202006",
        "2020-06-30",
        "2020年6月30日",
    ],
)
def test_a_submitted_period_cell_reads_in_every_spelling_the_contract_accepts(text):
    assert Period.from_cell(text) == Period(2020, 6)


@pytest.mark.parametrize("text", ["2020-13", "2020-06-31", "1899-06", "June 2020", "20206", ""])
def test_a_period_cell_that_names_no_month_reads_as_none(text):
    assert Period.from_cell(text) is None


def test_a_month_is_dated_the_first_of_the_next_at_nine_bank_time():
    assert Period(2020, 6).published_at.isoformat() == "2020-07-01T09:00:00+08:00"
    assert Period(2020, 12).published_at.isoformat() == "2021-01-01T09:00:00+08:00"
    assert Period.of(Period(2020, 12).published_at.date()) == Period(2021, 1)
