"""Calendar helpers for French legal time limits.

Two kinds of time coexist in the product and must not be confused:

* **calendar dates** (deadlines, due dates, working days) are Europe/Paris
  dates: a dossier submitted at 00:30 in Paris on 1 February (23:30 UTC on
  31 January) was submitted "on 1 February". Always go through
  :func:`paris_date`, never ``dt.date()``;
* **durations** are exact elapsed time between two instants
  (:func:`days_between`), so a daylight-saving night lasts 23 or 25 hours.

Periods expressed in months run date to date (Code de procédure civile
art. 641) and a period ending on a Saturday, Sunday or public holiday is
extended to the next working day (art. 642).

Nothing here reads the clock: callers pass aware datetimes explicitly
(``django.utils.timezone.now()`` in application code).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta

__all__ = [
    "PARIS",
    "add_months",
    "add_working_days",
    "days_between",
    "is_working_day",
    "paris_date",
    "roll_to_working_day",
    "start_of_paris_day",
]

PARIS = ZoneInfo("Europe/Paris")

_SECONDS_PER_DAY = 86400


def _require_aware(dt: datetime, name: str = "datetime") -> None:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt!r}")


def _require_date(d: date) -> None:
    # datetime is a subclass of date: letting one through would silently
    # compare unequal to the holiday dates and keep a time-of-day around.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a date, got {type(d).__name__}; use paris_date() first")


def paris_date(dt: datetime) -> date:
    """Return the Europe/Paris calendar date of the instant ``dt``.

    Raises ValueError on a naive datetime: guessing its zone is exactly the
    bug this module exists to prevent.
    """
    _require_aware(dt)
    return dt.astimezone(PARIS).date()


def start_of_paris_day(d: date) -> datetime:
    """Return 00:00 Europe/Paris on ``d`` as an aware datetime.

    French DST changes happen at 02:00/03:00, so midnight always exists and
    is never ambiguous.
    """
    _require_date(d)
    return datetime.combine(d, time.min, tzinfo=PARIS)


@functools.lru_cache(maxsize=1 << 16)  # pure, and the same dates come back (bulk delay rows)
def add_months(d: date, months: int) -> date:
    """Add calendar months date to date (CPC art. 641).

    When the target month has no such day the period ends on that month's
    last day: 31 July + 7 months is 28 February, or 29 February in a leap
    year. ``relativedelta`` implements exactly this clamping.
    """
    _require_date(d)
    return d + relativedelta(months=months)


@functools.lru_cache(maxsize=256)
def _public_holidays(subdiv: str | None, year: int) -> frozenset[date]:
    # One immutable set per (subdivision, year): a shared ``holidays``
    # object would expand itself lazily on lookup, i.e. mutate under threads.
    return frozenset(holidays.France(subdiv=subdiv, years=year).keys())


def is_working_day(d: date, subdiv: str | None = None) -> bool:
    """True for Monday–Friday days that are not French public holidays.

    ``subdiv`` selects a regional calendar of the ``holidays`` package, e.g.
    ``"57"`` (Moselle, Alsace-Moselle law) which adds Good Friday and
    26 December.
    """
    _require_date(d)
    return d.weekday() < 5 and d not in _public_holidays(subdiv, d.year)


@functools.lru_cache(maxsize=1 << 16)  # pure, and the same dates come back (bulk delay rows)
def add_working_days(d: date, n: int, subdiv: str | None = None) -> date:
    """Return the ``n``-th working day after ``d``; ``d`` itself never counts.

    Used for "7 jours ouvrés" limits: a dossier received on Friday
    30 May 2025 has its 7th working day on Wednesday 11 June (Pentecost
    Monday 9 June is skipped). ``n == 0`` returns ``d`` unchanged.
    """
    _require_date(d)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    current = d
    remaining = n
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current, subdiv):
            remaining -= 1
    return current


def roll_to_working_day(d: date, subdiv: str | None = None) -> date:
    """Return ``d`` if it is a working day, else the next working day.

    CPC art. 642: a period that would expire on a Saturday, Sunday or public
    holiday is extended until the next working day.
    """
    _require_date(d)
    current = d
    while not is_working_day(current, subdiv):
        current += timedelta(days=1)
    return current


def days_between(a: datetime, b: datetime) -> float:
    """Exact elapsed time from ``a`` to ``b`` in days (seconds / 86400).

    Both instants are converted to UTC before subtracting: Python subtracts
    two datetimes sharing the same tzinfo as wall-clock times, which would
    make the night of 30 March 2025 in Paris last 24 hours instead of 23.
    Negative when ``b`` is before ``a``.
    """
    _require_aware(a, "a")
    _require_aware(b, "b")
    delta = b.astimezone(UTC) - a.astimezone(UTC)
    return delta.total_seconds() / _SECONDS_PER_DAY
