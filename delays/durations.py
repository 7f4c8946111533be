"""Durations as a person says them: "moins d'un jour", "3 jours", "5 semaines", "1 an et 2 mois".

The clocks count exact days (fractions included); pages and emails say them the way people
do, with the exact figure kept where precision matters (the back office's stage table). One
function, so that every screen rounds the same way:

- under 1 day: "moins d'un jour" (never "0 jours": a stay of a few hours is not nothing);
- 1 to 13 days: whole days, rounded to the nearest ("1 jour", "13 jours");
- 14 to 60 days: weeks, rounded to the nearest ("2 semaines" ... "9 semaines");
- beyond 60 days: months of 365.25 / 12 days, rounded ("2 mois", "11 mois"), and from
  12 months years and months ("1 an", "1 an et 3 mois", "2 ans et 1 mois").

Plural forms come from the catalogue (ngettext), in the active language or ``language``.
"""

from __future__ import annotations

import math

from django.utils import translation
from django.utils.translation import gettext, ngettext

DAYS_PER_WEEK = 7
DAYS_PER_MONTH = 365.25 / 12  # the one month length of the figures (pages, emails, indicators)
WEEKS_FROM_DAYS = 14  # from two weeks on, a duration reads in weeks
MONTHS_AFTER_DAYS = 60  # beyond about two months, in months


def in_months(days: float | None, digits: int | None = 1) -> float | None:
    """A number of days in months of ``DAYS_PER_MONTH``, rounded to ``digits`` (None: not rounded,
    for a template that rounds it); None for None."""
    if days is None:
        return None
    months = days / DAYS_PER_MONTH
    return months if digits is None else round(months, digits)


def _nearest(value: float) -> int:
    """Rounded half up (12.5 days are 13 days), not to the even number as ``round`` does."""
    return math.floor(value + 0.5)


def _days(n: int) -> str:
    return ngettext("%(n)s jour", "%(n)s jours", n) % {"n": n}


def _weeks(n: int) -> str:
    return ngettext("%(n)s semaine", "%(n)s semaines", n) % {"n": n}


def _months(n: int) -> str:
    return ngettext("%(n)s mois", "%(n)s mois", n) % {"n": n}


def _years(n: int) -> str:
    return ngettext("%(n)s an", "%(n)s ans", n) % {"n": n}


def _say(days: float) -> str:
    if days < 1:
        return gettext("moins d'un jour")
    whole = _nearest(days)
    if whole < WEEKS_FROM_DAYS:
        return _days(whole)
    if whole <= MONTHS_AFTER_DAYS:
        return _weeks(_nearest(days / DAYS_PER_WEEK))
    months = _nearest(days / DAYS_PER_MONTH)
    years, months = divmod(months, 12)
    if not years:
        return _months(months)
    if not months:
        return _years(years)
    return gettext("%(years)s et %(months)s") % {"years": _years(years), "months": _months(months)}


def humanise_days(days: float | None, language: str | None = None) -> str:
    """``days`` (a duration in days, fractions allowed) in words, in ``language`` or the active
    one; "" for None (nothing to say)."""
    if days is None:
        return ""
    if language is None:
        return _say(float(days))
    with translation.override(language):
        return _say(float(days))
