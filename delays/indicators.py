"""The roadmap's indicators (issue 18): what /indicateurs/ and the weekly email show, each with its
target, its value as of an instant and its trend at the last quarter ends.

Nothing here restates a delay rule or a figure the delay report computes: the delay, its median
and 90th percentile and the share delivered within the target are ``delays.report.build_report``'s
``summary`` (the headline figure, ``delays.statistics.headline``); the time per stage and per data
holder are its ``stages`` and ``holders``. A trend's point at a quarter end is the same function at
that instant (``headline`` of ``delivered_target_rows``, which ``build_report`` reads when its
summary does not cover the instant), so each point equals ``delay_report --as-of`` that day.

Definitions (docs/delays.md, "The roadmap's indicators"):

- **projects using the platform in a year**: the requests, any route and any matching need, whose
  data were made available in the project's workspace (``delivered_at``, the first entry into
  *delivered*) during that Paris calendar year. The trend: the same count over the 12 months
  that end at each quarter end;
- **partnerships**: those the secretariat recorded (``Partnership``), signed since 1 January of
  ``HDH_ROADMAP_START_YEAR``, against ``HDH_TARGET_PARTNERSHIPS``; the trend: that total at each
  quarter end;
- **exchanges with civil society**: those recorded (``CivilSocietyExchange``) in the calendar
  year, against ``HDH_TARGET_CIVIL_SOCIETY_FACTOR`` times those of
  ``HDH_CIVIL_SOCIETY_BASELINE_YEAR``; the trend: the count over the 12 months that end at each
  quarter end.

``cached_indicators`` keeps the figures in Django's cache for ``HDH_DASHBOARD_CACHE_SECONDS``
(as the dashboard does); the page says when they were computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import ExtractYear, TruncYear
from django.utils import timezone

from delays.dashboard import cache_seconds
from delays.durations import in_months
from delays.models import CivilSocietyExchange, Partnership, RequestDelay
from delays.report import build_report
from delays.statistics import delivered_target_rows, headline, headline_json, quarter_code, quarter_start
from hdh_access.lib.dates import PARIS, paris_date, start_of_paris_day

CACHE_KEY = "hdh:indicators:v1"


def quarter_ends(as_of: dt.datetime, count: int) -> list[tuple[str, dt.datetime]]:
    """The last ``count`` quarters ended by ``as_of``, oldest first: (code, the instant it ends,
    00:00 Paris on the first day of the next quarter, the instant ``delay_report --as-of`` that
    day means)."""
    start = quarter_start(paris_date(as_of))
    out = []
    for _ in range(count):
        previous = start - relativedelta(months=3)
        out.append((quarter_code(previous), start_of_paris_day(start)))
        start = previous
    return out[::-1]


def _rolling_counts(qs: QuerySet[Any], field: str, ends: Iterable[dt.datetime | dt.date],
                    since: dt.datetime | dt.date | None = None) -> list[int]:
    """The rows of ``qs`` whose ``field`` is in the 12 months before each end (from ``since``
    when given): one query."""
    ends = list(ends)
    aggregates = {}
    for index, end in enumerate(ends):
        start = since if since is not None else end - relativedelta(years=1)
        aggregates[f"n{index}"] = Count("pk", filter=Q(**{f"{field}__gte": start, f"{field}__lt": end}))
    if not aggregates:
        return []
    values = qs.aggregate(**aggregates)
    return [values[f"n{index}"] for index in range(len(ends))]


def _by_year(qs: QuerySet[Any], field: str, *, instants: bool) -> dict[int, int]:
    year = (TruncYear(field, tzinfo=PARIS) if instants else ExtractYear(field))
    rows = qs.annotate(year=year).values("year").annotate(n=Count("pk")).order_by("year")
    out = {}
    for row in rows:
        value = row["year"]
        out[value if isinstance(value, int) else value.year] = row["n"]
    return out


def _years(counts: dict[int, int], first: int, last: int) -> list[dict[str, int]]:
    """Every year from ``first`` (or the first counted) to ``last``, those without a row at 0."""
    return [{"year": year, "count": counts.get(year, 0)} for year in range(min([first, *counts]), last + 1)]


# --- each indicator ----------------------------------------------------------------------------
def _projects(as_of: dt.datetime, ends: list[tuple[str, dt.datetime]]) -> dict[str, Any]:
    delivered = RequestDelay.objects.filter(delivered_at__isnull=False, delivered_at__lte=as_of)
    year = paris_date(as_of).year
    years = _by_year(delivered, "delivered_at", instants=True)
    trend = _rolling_counts(delivered, "delivered_at", [end for _code, end in ends])
    return {
        "target": settings.HDH_TARGET_PROJECTS_PER_YEAR, "year": year, "value": years.get(year, 0),
        "last_year": years.get(year - 1, 0),
        "years": _years(years, year, year),
        "trend": [{"quarter": code, "value": value} for (code, _end), value in zip(ends, trend, strict=True)],
    }


def _delay(report: dict[str, Any], ends: list[tuple[str, dt.datetime]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The delay and the share delivered within the target: the report's summary, and the same
    headline at each quarter end."""
    summary = report["summary"]
    months = report["target_months"]
    points = [{"quarter": code, **headline_json(headline(delivered_target_rows(end)))} for code, end in ends]
    mean = summary["mean_institution_days"]
    delay = {
        "target_months": months, "delivered": summary["delivered"],
        "mean_days": mean, "median_days": summary["median_institution_days"],
        "p90_days": summary["p90_institution_days"],
        "mean_months": in_months(mean),
        "mean_access_days": summary["mean_access_days"],
        "trend": [{"quarter": p["quarter"], "delivered": p["delivered"], "mean_days": p["mean_institution_days"],
                   "median_days": p["median_institution_days"], "p90_days": p["p90_institution_days"],
                   "mean_months": in_months(p["mean_institution_days"])} for p in points],
    }
    share = {
        "target_months": months, "delivered": summary["delivered"], "met": summary["met"],
        "value": summary["share_met"],
        "trend": [{"quarter": p["quarter"], "delivered": p["delivered"], "met": p["met"], "value": p["share_met"]}
                  for p in points],
    }
    return delay, share


def _partnerships(as_of: dt.datetime, ends: list[tuple[str, dt.datetime]]) -> dict[str, Any]:
    today = paris_date(as_of)
    first = settings.HDH_ROADMAP_START_YEAR
    since = dt.date(first, 1, 1)
    recorded = Partnership.objects.filter(signed_on__lte=today)
    counted = recorded.filter(signed_on__gte=since)
    trend = _rolling_counts(counted, "signed_on", [paris_date(end) for _code, end in ends], since=since)
    return {
        "target": settings.HDH_TARGET_PARTNERSHIPS, "since": first, "value": counted.count(),
        "years": _years(_by_year(counted, "signed_on", instants=False), first, today.year),
        "trend": [{"quarter": code, "value": value} for (code, _end), value in zip(ends, trend, strict=True)],
    }


def _civil_society(as_of: dt.datetime, ends: list[tuple[str, dt.datetime]]) -> dict[str, Any]:
    today = paris_date(as_of)
    baseline_year = settings.HDH_CIVIL_SOCIETY_BASELINE_YEAR
    factor = settings.HDH_TARGET_CIVIL_SOCIETY_FACTOR
    recorded = CivilSocietyExchange.objects.filter(held_on__lte=today)
    years = _by_year(recorded, "held_on", instants=False)
    baseline = years.get(baseline_year, 0)
    trend = _rolling_counts(recorded, "held_on", [paris_date(end) for _code, end in ends])
    return {
        "factor": factor, "baseline_year": baseline_year, "baseline": baseline,
        # No exchange recorded in the baseline year: no target can be set from it.
        "target": factor * baseline if baseline else None, "year": today.year, "value": years.get(today.year, 0),
        "years": _years(years, baseline_year, today.year),
        "trend": [{"quarter": code, "value": value} for (code, _end), value in zip(ends, trend, strict=True)],
    }


# --- all of them -------------------------------------------------------------------------------
def build_indicators(as_of: dt.datetime, *, report: dict[str, Any] | None = None,
                     quarters: int | None = None) -> dict[str, Any]:
    """Every indicator as of ``as_of``, JSON-ready. ``report``: ``build_report(as_of)`` when the
    caller already has it (the weekly email), else computed here."""
    if report is None:
        report = build_report(as_of)
    ends = quarter_ends(as_of, quarters or settings.HDH_INDICATOR_QUARTERS)
    delay, share = _delay(report, ends)
    return {
        "as_of": as_of.isoformat(),
        "quarters": [code for code, _end in ends],
        "projects": _projects(as_of, ends),
        "delay": delay,
        "share": share,
        "partnerships": _partnerships(as_of, ends),
        "civil_society": _civil_society(as_of, ends),
        "stages": report["stages"],
        "bottleneck_stage": report["summary"]["bottleneck_stage"],
        "holders": list(report["holders"].values()),
        "bottleneck_holder": report["summary"]["bottleneck_holder"],
    }


def cached_indicators(*, refresh: bool = False) -> dict[str, Any]:
    """``build_indicators`` now, from the cache when computed less than ``cache_seconds()`` ago."""
    seconds = cache_seconds()
    if seconds and not refresh:
        data = cache.get(CACHE_KEY)
        if data is not None:
            return dict(data)
    data = build_indicators(timezone.now())
    if seconds:
        cache.set(CACHE_KEY, data, seconds)
    return data

