"""Helpers shared by the management commands."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone

from hdh_access.lib.dates import PARIS, start_of_paris_day


def parse_as_of(value: str | None) -> dt.datetime:
    """A date means 00:00 Europe/Paris that day; a datetime without offset is Paris time."""
    if not value:
        return timezone.now()
    try:
        if len(value) == 10:
            parsed = start_of_paris_day(dt.date.fromisoformat(value))
        else:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=PARIS)
        # Far-off years overflow date arithmetic (deadlines, UTC conversion): refuse them here.
        if not 1900 <= parsed.astimezone(dt.UTC).year <= 2200:
            raise ValueError("year out of range")
    except (ValueError, OverflowError):
        raise CommandError(
            f"--as-of: cannot read {value!r}; give a date (2025-06-30) or an ISO 8601 date-time "
            "(2025-06-30T12:00:00+02:00) between 1900 and 2200"
        ) from None
    return parsed
