"""Calendar helpers: Paris dates, months date to date, working days, exact durations."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdh_access.lib.dates import (
    PARIS,
    add_months,
    add_working_days,
    days_between,
    is_working_day,
    paris_date,
    roll_to_working_day,
    start_of_paris_day,
)

FAST = settings(max_examples=200, deadline=None)

dates_2000_2100 = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


def last_day_of_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


# --- PARIS / paris_date ------------------------------------------------------


def test_paris_is_the_europe_paris_zone():
    assert PARIS == ZoneInfo("Europe/Paris")


def test_paris_date_keeps_the_paris_day_of_a_late_evening_submission():
    # 23:30 in Paris on 31 January is 22:30 UTC the same day.
    dt = datetime(2025, 1, 31, 22, 30, tzinfo=UTC)
    assert paris_date(dt) == date(2025, 1, 31)


def test_paris_date_moves_to_the_next_day_just_after_paris_midnight():
    # 00:30 in Paris on 1 February is still 31 January in UTC.
    dt = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)
    assert dt.date() == date(2025, 1, 31)
    assert paris_date(dt) == date(2025, 2, 1)


def test_paris_date_uses_the_summer_offset_of_two_hours():
    assert paris_date(datetime(2025, 6, 30, 22, 30, tzinfo=UTC)) == date(2025, 7, 1)
    assert paris_date(datetime(2025, 6, 30, 21, 59, tzinfo=UTC)) == date(2025, 6, 30)


def test_paris_date_accepts_any_aware_zone():
    new_york = ZoneInfo("America/New_York")
    assert paris_date(datetime(2025, 1, 31, 19, 0, tzinfo=new_york)) == date(2025, 2, 1)


def test_paris_date_rejects_a_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        paris_date(datetime(2025, 1, 31, 23, 30))


@FAST
@given(day=dates_2000_2100, minutes=st.integers(min_value=-180, max_value=180))
def test_paris_date_flips_exactly_at_paris_midnight_not_utc_midnight(day, minutes):
    instant = start_of_paris_day(day) + timedelta(minutes=minutes)
    expected = day if minutes >= 0 else day - timedelta(days=1)
    assert paris_date(instant) == expected
    assert paris_date(instant.astimezone(UTC)) == expected


@FAST
@given(instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)))
def test_paris_date_is_the_utc_instant_shifted_by_the_paris_offset(instant):
    offset = instant.astimezone(PARIS).utcoffset()
    assert offset in (timedelta(hours=1), timedelta(hours=2))
    assert paris_date(instant) == (instant.replace(tzinfo=None) + offset).date()


# --- start_of_paris_day ---------------------------------------------------


def test_start_of_paris_day_is_23_00_utc_the_day_before_in_winter():
    start = start_of_paris_day(date(2025, 2, 1))
    assert start.astimezone(UTC) == datetime(2025, 1, 31, 23, 0, tzinfo=UTC)
    assert start.utcoffset() == timedelta(hours=1)


def test_start_of_paris_day_is_22_00_utc_the_day_before_in_summer():
    start = start_of_paris_day(date(2025, 7, 1))
    assert start.astimezone(UTC) == datetime(2025, 6, 30, 22, 0, tzinfo=UTC)


def test_start_of_paris_day_rejects_a_datetime():
    with pytest.raises(TypeError):
        start_of_paris_day(datetime(2025, 7, 1, tzinfo=PARIS))


# --- add_months ----------------------------------------------------------------


def test_add_months_runs_date_to_date():
    assert add_months(date(2025, 1, 15), 7) == date(2025, 8, 15)


def test_add_months_clamps_31_july_plus_7_to_28_february_in_a_common_year():
    assert add_months(date(2024, 7, 31), 7) == date(2025, 2, 28)


def test_add_months_clamps_31_july_plus_7_to_29_february_in_a_leap_year():
    assert add_months(date(2027, 7, 31), 7) == date(2028, 2, 29)


def test_add_months_from_29_february_lands_on_28_february_next_year():
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_add_months_clamps_to_30_day_months():
    assert add_months(date(2025, 3, 31), 1) == date(2025, 4, 30)


def test_add_months_crosses_the_year_and_accepts_negative_months():
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)


def test_add_months_rejects_a_datetime():
    with pytest.raises(TypeError):
        add_months(datetime(2025, 1, 31, tzinfo=PARIS), 1)


@FAST
@given(day=dates_2000_2100, months=st.integers(min_value=-120, max_value=120))
def test_add_months_keeps_the_day_or_ends_on_the_months_last_day(day, months):
    result = add_months(day, months)
    index = day.year * 12 + day.month - 1 + months
    assert (result.year, result.month) == (index // 12, index % 12 + 1)
    last = last_day_of_month(result.year, result.month)
    if day.day <= last:
        assert result.day == day.day
    else:
        assert result.day == last


@FAST
@given(
    year=st.integers(min_value=2000, max_value=2098),
    month=st.integers(min_value=1, max_value=12),
    months=st.integers(min_value=1, max_value=24),
)
def test_add_months_from_a_month_end_respects_leap_years(year, month, months):
    start = date(year, month, last_day_of_month(year, month))
    result = add_months(start, months)
    expected_day = min(start.day, last_day_of_month(result.year, result.month))
    assert result.day == expected_day
    if (result.month, start.day) == (2, 31) or (result.month == 2 and start.day >= 29):
        assert result.day == (29 if calendar.isleap(result.year) else 28)


# --- is_working_day ------------------------------------------------------------


def test_an_ordinary_tuesday_is_a_working_day():
    assert is_working_day(date(2025, 3, 4))


def test_saturday_and_sunday_are_not_working_days():
    assert not is_working_day(date(2025, 3, 1))
    assert not is_working_day(date(2025, 3, 2))


@pytest.mark.parametrize(
    "holiday",
    [
        date(2025, 1, 1),
        date(2025, 4, 21),  # Easter Monday
        date(2025, 5, 1),
        date(2025, 5, 8),
        date(2025, 5, 29),  # Ascension
        date(2025, 7, 14),
        date(2025, 8, 15),
        date(2025, 11, 11),
        date(2025, 12, 25),
    ],
)
def test_french_public_holidays_on_weekdays_are_not_working_days(holiday):
    assert holiday.weekday() < 5
    assert not is_working_day(holiday)


def test_good_friday_and_26_december_are_working_days_nationally():
    assert is_working_day(date(2025, 4, 18))
    assert is_working_day(date(2025, 12, 26))


def test_alsace_moselle_adds_good_friday_and_26_december():
    assert not is_working_day(date(2025, 4, 18), subdiv="57")
    assert not is_working_day(date(2025, 12, 26), subdiv="57")
    assert is_working_day(date(2025, 4, 17), subdiv="57")


def test_is_working_day_rejects_a_datetime():
    with pytest.raises(TypeError):
        is_working_day(datetime(2025, 5, 1, tzinfo=PARIS))


# --- add_working_days ------------------------------------------------------------


def test_add_working_days_does_not_count_the_start_day():
    assert add_working_days(date(2025, 3, 4), 1) == date(2025, 3, 5)


def test_add_working_days_from_friday_skips_the_weekend():
    assert add_working_days(date(2025, 3, 7), 1) == date(2025, 3, 10)


def test_seven_working_days_skip_easter_monday():
    # Thu 17 Apr 2025: 18, (21 Easter Monday), 22, 23, 24, 25, 28, 29.
    assert add_working_days(date(2025, 4, 17), 7) == date(2025, 4, 29)


def test_seven_working_days_in_moselle_also_skip_good_friday():
    assert add_working_days(date(2025, 4, 17), 7, subdiv="57") == date(2025, 4, 30)


def test_seven_working_days_skip_ascension_thursday():
    # Mon 26 May 2025: 27, 28, (29 Ascension), 30, 2 Jun, 3, 4, 5.
    assert add_working_days(date(2025, 5, 26), 7) == date(2025, 6, 5)


def test_seven_working_days_skip_pentecost_monday():
    assert add_working_days(date(2025, 5, 30), 7) == date(2025, 6, 11)


def test_zero_working_days_returns_the_same_day():
    assert add_working_days(date(2025, 3, 8), 0) == date(2025, 3, 8)


def test_negative_working_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2025, 3, 8), -1)


@FAST
@given(
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    n=st.integers(min_value=0, max_value=30),
    subdiv=st.sampled_from([None, "57"]),
)
def test_add_working_days_lands_on_the_nth_working_day(day, n, subdiv):
    result = add_working_days(day, n, subdiv)
    between = [day + timedelta(days=k) for k in range(1, (result - day).days + 1)]
    assert sum(is_working_day(d, subdiv) for d in between) == n
    if n:
        assert is_working_day(result, subdiv)


# --- roll_to_working_day ---------------------------------------------------------


def test_roll_keeps_a_working_day():
    assert roll_to_working_day(date(2025, 3, 4)) == date(2025, 3, 4)


def test_roll_moves_a_saturday_to_monday():
    assert roll_to_working_day(date(2025, 5, 10)) == date(2025, 5, 12)


def test_roll_moves_1_may_to_the_next_day():
    assert roll_to_working_day(date(2025, 5, 1)) == date(2025, 5, 2)


def test_roll_moves_14_july_on_a_monday_to_tuesday():
    assert roll_to_working_day(date(2025, 7, 14)) == date(2025, 7, 15)


def test_roll_moves_a_saturday_holiday_past_the_weekend():
    assert roll_to_working_day(date(2025, 11, 1)) == date(2025, 11, 3)


def test_roll_from_christmas_differs_in_moselle():
    assert roll_to_working_day(date(2025, 12, 25)) == date(2025, 12, 26)
    assert roll_to_working_day(date(2025, 12, 25), subdiv="57") == date(2025, 12, 29)


@FAST
@given(
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    subdiv=st.sampled_from([None, "57"]),
)
def test_roll_returns_the_first_working_day_on_or_after(day, subdiv):
    result = roll_to_working_day(day, subdiv)
    assert result >= day
    assert is_working_day(result, subdiv)
    skipped = [day + timedelta(days=k) for k in range((result - day).days)]
    assert not any(is_working_day(d, subdiv) for d in skipped)


# --- days_between -----------------------------------------------------------------


def test_days_between_counts_the_spring_dst_night_as_23_hours():
    start = datetime(2025, 3, 30, 0, 0, tzinfo=PARIS)
    end = datetime(2025, 3, 31, 0, 0, tzinfo=PARIS)
    # Plain subtraction with a shared tzinfo ignores DST: that is the trap.
    assert (end - start) == timedelta(days=1)
    assert days_between(start, end) == pytest.approx(23 / 24)


def test_days_between_counts_the_autumn_dst_night_as_25_hours():
    start = datetime(2025, 10, 26, 0, 0, tzinfo=PARIS)
    end = datetime(2025, 10, 27, 0, 0, tzinfo=PARIS)
    assert days_between(start, end) == pytest.approx(25 / 24)


def test_days_between_mixes_zones_by_instant():
    paris = datetime(2025, 1, 1, 1, 0, tzinfo=PARIS)
    utc = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    assert days_between(paris, utc) == 0.0


def test_days_between_is_fractional_and_signed():
    a = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    b = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)
    assert days_between(a, b) == 1.5
    assert days_between(b, a) == -1.5


def test_days_between_rejects_naive_datetimes():
    with pytest.raises(ValueError):
        days_between(datetime(2025, 1, 1), datetime(2025, 1, 2, tzinfo=UTC))
    with pytest.raises(ValueError):
        days_between(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2))


@FAST
@given(day=dates_2000_2100)
def test_a_paris_day_lasts_23_24_or_25_hours(day):
    length = days_between(start_of_paris_day(day), start_of_paris_day(day + timedelta(days=1)))
    assert length * 24 in (23.0, 24.0, 25.0)
