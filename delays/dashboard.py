"""The figures of the delay dashboard, from the materialised RequestDelay rows.

Same rules as the delay report (delays.report, docs/delays.md): the target
population is the submitted requests that need matching; stage statistics are over delivered
target requests, a request counting for a stage only when it spent time there. The dashboard
adds filters (submission period, dataset) and per-quarter series, and reads every figure in a
fixed number of queries whatever the number of requests:

1. access figures and per-stage count / mean / median / 90th percentile: one aggregate
   (``percentile_cont`` in SQL on PostgreSQL, Python on SQLite, as the report does), and the
   headline figure (``delays.statistics.headline``: share of deliveries within 7 months,
   applicant time excluded, and the mean / median / 90th percentile of institution days),
   which ``summary`` gives;
2. per submission quarter (the cohorts): submitted, delivered, delivered within 7 months, open
   past deadline;
3. per Paris delivery quarter, the headline figure (``delays.statistics.headline_by_quarter``):
   ``headline_quarters``, every quarter from the first delivery to the last, a quarter without
   delivery with ``share_met`` None; ``delivery_quarters`` keeps, for the quarters with
   deliveries, the mean access delay and mean institution time (one query for both);
4. open requests by current stage and target status;
5. the late and at-risk lists (and their counts in 4).

"Late" is exact at the instant of computation (the 7-month deadline is a date column); "at
risk" comes from the forecast materialised with each row (after every transition and nightly),
so the page says when those forecasts were computed.

Without filters, 1 to 4 come from the summary kept by each recompute (``delays.summary``: three
queries whatever the number of requests, the same figures); filtered, from the rows (at 100,000
requests about 0.35 s: percentiles over every delivered request, two quarterly GROUP BYs). The
data holders' figures (``delays.holders``) read the tasks either way. ``cached_dashboard`` keeps
the figures in Django's cache for
``HDH_DASHBOARD_CACHE_SECONDS`` (default 600; 0 disables it) per filter combination; the page
says when they were computed and offers to recompute them. ``warm_cache`` precomputes the
unfiltered figures (for a periodic task).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, CharField, Count, Exists, Min, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import TruncQuarter
from django.utils import timezone

from access_requests.models import AccessRequest
from delays import rules, summary
from delays.clock import ROW_FIELDS, evaluate_row
from delays.holders import bottleneck_holder, holder_figures
from delays.models import RequestDelay
from delays.statistics import (
    Headline,
    aggregate_rows,
    headline,
    headline_by_quarter,
    headline_json,
    make_headline,
    quarter_series,
)
from hdh_access.lib.dates import PARIS, paris_date, start_of_paris_day

ROUND = 3
LIST_LIMIT = 25
INSTITUTION_STAGES = tuple(s for s in rules.STAGES if s != rules.AWAITING_APPLICANT)
# Stacks of the "requests by current stage" chart.
SEGMENTS = ("late", "at_risk", "on_track", "other")


@dataclass(frozen=True)
class DashboardFilters:
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None
    dataset_id: int | None = None
    # Forced for a data holder's staff: only the requests asking for its datasets.
    holder_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("submitted_from", "submitted_to"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), ROUND)


def delay_rows(filters: DashboardFilters) -> QuerySet[RequestDelay]:
    """Every submitted request's delay row within the filters."""
    qs = RequestDelay.objects.all()
    if filters.submitted_from:
        qs = qs.filter(submitted_at__gte=start_of_paris_day(filters.submitted_from))
    if filters.submitted_to:
        qs = qs.filter(submitted_at__lt=start_of_paris_day(filters.submitted_to + dt.timedelta(days=1)))
    if filters.dataset_id:
        qs = qs.filter(Exists(AccessRequest.datasets.through.objects.filter(
            accessrequest_id=OuterRef("request_id"), dataset_id=filters.dataset_id)))
    if filters.holder_id:
        qs = qs.filter(Exists(AccessRequest.datasets.through.objects.filter(
            accessrequest_id=OuterRef("request_id"), dataset__holder_id=filters.holder_id)))
    return qs


# --- 1. access figures and per-stage statistics -------------------------------------------------
# The same aggregation as the delay report (SQL percentiles on PostgreSQL), over filtered rows.
aggregate = aggregate_rows


# --- 2, 3. quarterly series ---------------------------------------------------------------------
def _quarter(value: dt.datetime | dt.date) -> str:
    day = value.astimezone(PARIS).date() if isinstance(value, dt.datetime) else value
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def by_submission_quarter(target: QuerySet[RequestDelay], today: dt.date) -> list[dict[str, Any]]:
    rows = (
        target.annotate(quarter=TruncQuarter("submitted_at", tzinfo=PARIS)).values("quarter")
        .annotate(
            submitted=Count("pk"),
            delivered=Count("pk", filter=Q(delivered_at__isnull=False)),
            met=Count("pk", filter=Q(delivered_at__isnull=False, target_met=True)),
            open_past_deadline=Count("pk", filter=Q(ended_at__isnull=True, deadline__lt=today)),
        ).order_by("quarter")
    )
    return [{
        "quarter": _quarter(r["quarter"]), "submitted": r["submitted"], "delivered": r["delivered"],
        "met": r["met"], "share_met": _r(r["met"] / r["delivered"]) if r["delivered"] else None,
        "open_past_deadline": r["open_past_deadline"],
    } for r in rows]


def headline_quarters(target_delivered: QuerySet[RequestDelay]) -> list[dict[str, Any]]:
    """The headline figure per Paris delivery quarter (``delays.statistics.headline_by_quarter``),
    JSON-ready, with ``mean_access_days`` (elapsed, applicant time included) for the access chart."""
    return [{"quarter": q["quarter"], **headline_json(q), "mean_access_days": _r(q["mean_elapsed_days"])}
            for q in headline_by_quarter(target_delivered)]


def by_delivery_quarter(quarters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean access delay and mean institution time of the quarters with deliveries (from
    ``headline_quarters``: the same query, the same rows)."""
    return [{
        "quarter": q["quarter"], "delivered": q["delivered"], "mean_access_days": q["mean_access_days"],
        "mean_institution_days": q["mean_institution_days"],
    } for q in quarters if q["delivered"]]


# --- 4. open requests by stage ------------------------------------------------------------------
def _segment(today: dt.date) -> Case:
    return Case(
        When(requires_matching=False, then=Value("other")),
        When(deadline__lt=today, then=Value("late")),
        When(status=rules.STATUS_AT_RISK, then=Value("at_risk")),
        default=Value("on_track"),
        output_field=CharField(),
    )


def by_current_stage(rows: QuerySet[RequestDelay], today: dt.date) -> tuple[list[dict[str, Any]], dt.datetime | None]:
    """Open requests per current stage, split by target status; and the oldest computation."""
    grouped = (
        rows.filter(ended_at__isnull=True).annotate(segment=_segment(today))
        .values("current_stage", "segment").annotate(n=Count("pk"), oldest=Min("computed_at")).order_by()
    )
    table = {stage: dict.fromkeys(SEGMENTS, 0) for stage in rules.STAGES}
    oldest = None
    for row in grouped:
        stage = row["current_stage"]
        if stage not in table:
            continue
        table[stage][row["segment"]] += row["n"]
        if oldest is None or row["oldest"] < oldest:
            oldest = row["oldest"]
    out = [{"stage": stage, **counts, "total": sum(counts.values())} for stage, counts in table.items()]
    return out, oldest


# --- 5. watch lists -----------------------------------------------------------------------------
def _listed(qs: QuerySet[RequestDelay], now: dt.datetime, today: dt.date) -> list[dict[str, Any]]:
    """The listed requests' figures at ``now`` (delays.clock); the forecast is the one
    materialised with the row, the same that put the request in its segment."""
    out = []
    for row in qs.values(*ROW_FIELDS, "request__title"):
        clock = evaluate_row(row, now, medians={})
        forecast = row["forecast_at"]
        out.append({
            "reference": clock.reference, "title": row["request__title"], "state": clock.state,
            "current_stage": clock.current_stage, "submitted_at": clock.submitted_at.isoformat(),
            "deadline": clock.deadline.isoformat(), "days_past_deadline": (today - clock.deadline).days,
            "forecast_at": forecast.isoformat() if forecast else None,
            "forecast_overrun_days": (paris_date(forecast) - clock.deadline).days if forecast else None,
            "elapsed_days": _r(clock.elapsed_days),
        })
    return out


def late_requests(target_open: QuerySet[RequestDelay], now: dt.datetime, today: dt.date,
                  limit: int | None) -> list[dict[str, Any]]:
    """Open target requests past their 7-month deadline, the longest overdue first."""
    qs = target_open.filter(deadline__lt=today).order_by("deadline", "request_id")
    return _listed(qs[:limit] if limit is not None else qs, now, today)


def at_risk_requests(target_open: QuerySet[RequestDelay], now: dt.datetime, today: dt.date,
                     limit: int | None) -> list[dict[str, Any]]:
    """Open target requests whose forecast passes the deadline, the nearest deadline first."""
    qs = target_open.filter(deadline__gte=today, status=rules.STATUS_AT_RISK).order_by("deadline", "request_id")
    return _listed(qs[:limit] if limit is not None else qs, now, today)


# --- the dashboard ------------------------------------------------------------------------------
# --- 1 to 4 from the summary (delays.summary) -----------------------------------------------------
def _from_summary(filters: DashboardFilters, now: dt.datetime) -> bool:
    """The unfiltered figures come from the summary (PostgreSQL), which counts every delivery:
    not when asked as of an instant before one of them."""
    return filters == DashboardFilters() and summary.covers(now)


def _summary_figures(today: dt.date) -> tuple[dict[str, Any], dict[str, Any], Headline, list[dict[str, Any]],
                                               list[dict[str, Any]], list[dict[str, Any]], dt.datetime | None]:
    """What 1 to 4 compute from the rows, from the summary: access figures, stage statistics, the
    headline, its quarterly series, the submission quarters and the open requests by stage."""
    kept = summary.Figures(today)
    quarters = [{"quarter": q["quarter"], **headline_json(q), "mean_access_days": _r(q["mean_elapsed_days"])}
                for q in quarter_series({start: make_headline(*kept.headline(start))
                                         for start in kept.delivery_quarters()})]
    cohorts = [{
        "quarter": _quarter(start), **counts,
        "share_met": _r(counts["met"] / counts["delivered"]) if counts["delivered"] else None,
    } for start, counts in kept.cohorts().items()]
    cohorts = [{key: row[key] for key in ("quarter", "submitted", "delivered", "met", "share_met",
                                          "open_past_deadline")} for row in cohorts]
    segments = kept.open_segments()
    stages = []
    for stage in rules.STAGES:
        counts = {segment: segments.get(stage, {}).get(segment, 0) for segment in SEGMENTS}
        stages.append({"stage": stage, **counts, "total": sum(counts.values())})
    oldest = (RequestDelay.objects.filter(ended_at__isnull=True, current_stage__in=rules.STAGES)
              .aggregate(oldest=Min("computed_at"))["oldest"])
    return (kept.access(), kept.stage_statistics(), make_headline(*kept.headline()), quarters, cohorts, stages,
            oldest)


def build_dashboard(filters: DashboardFilters | None = None, *, now: dt.datetime | None = None,
                    list_limit: int | None = LIST_LIMIT) -> dict[str, Any]:
    """Every figure of the dashboard, JSON-ready (dates and instants in ISO 8601)."""
    filters = filters or DashboardFilters()
    now = now or timezone.now()
    today = paris_date(now)
    rows = delay_rows(filters)
    target = rows.filter(requires_matching=True)
    if _from_summary(filters, now):
        access, stats, overall, quarters, submission, stages, oldest = _summary_figures(today)
        figures = headline_json(overall)
    else:
        target_delivered = target.filter(delivered_at__lte=now)
        access, stats = aggregate(target_delivered)
        figures = headline_json(headline(target_delivered))
        quarters = headline_quarters(target_delivered)
        submission = by_submission_quarter(target, today)
        stages, oldest = by_current_stage(rows, today)
    late_count = sum(s["late"] for s in stages)
    at_risk_count = sum(s["at_risk"] for s in stages)
    on_track_count = sum(s["on_track"] for s in stages)
    target_open = target.filter(ended_at__isnull=True)
    delivered = figures["delivered"]
    bottleneck = rules.bottleneck_stage(stats)
    stage_json = {
        stage: {"count": s["count"], "mean_days": _r(s["mean_days"]), "median_days": _r(s["median_days"]),
                "p90_days": _r(s["p90_days"])}
        for stage, s in stats.items()
    }
    # After the decision, by data holder (delays.holders): the tasks of the filtered requests; a
    # holder's staff see their own line only (filters.holder_id).
    # Unfiltered: every task (each belongs to a submitted request), without reading the rows.
    request_ids = None if filters == DashboardFilters() else rows.values("request_id")
    holders = holder_figures(now, request_ids=request_ids, holder_id=filters.holder_id)
    slowest = bottleneck_holder(holders)
    return {
        "computed_at": now.isoformat(),
        "forecasts_computed_at": oldest.isoformat() if oldest else None,
        "target_months": settings.HDH_TARGET_MONTHS,
        "filters": filters.as_json(),
        "summary": {
            # The headline figure (delays.statistics.headline): delivered, met, share_met and
            # the institution days' mean, median and 90th percentile.
            **figures,
            "missed": delivered - figures["met"],
            # The whole delay, applicant time included (elapsed_days), as the delay report says.
            "mean_access_days": _r(access["mean"]),
            "median_access_days": _r(access["median"]),
            "late": late_count,
            "at_risk": at_risk_count,
            "on_track": on_track_count,
            "bottleneck_stage": bottleneck,
        },
        "stages": stage_json,
        "bottleneck": {"stage": bottleneck, **stage_json[bottleneck]} if bottleneck else None,
        "submission_quarters": submission,
        "delivery_quarters": by_delivery_quarter(quarters),
        "headline_quarters": quarters,
        "current_stages": stages,
        "holders": [figure.as_json() for figure in holders],
        "bottleneck_holder": slowest.as_json() if slowest else None,
        "late": late_requests(target_open, now, today, list_limit),
        "at_risk": at_risk_requests(target_open, now, today, list_limit),
    }


# --- cache --------------------------------------------------------------------------------------
DEFAULT_CACHE_SECONDS = 600


def cache_seconds() -> int:
    return int(getattr(settings, "HDH_DASHBOARD_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))


def _cache_key(filters: DashboardFilters, list_limit: int | None) -> str:
    raw = json.dumps([filters.as_json(), list_limit], sort_keys=True)
    return "hdh:backoffice:dashboard:v3:" + hashlib.sha256(raw.encode()).hexdigest()


def cached_dashboard(filters: DashboardFilters | None = None, *, list_limit: int | None = LIST_LIMIT,
                     refresh: bool = False) -> dict[str, Any]:
    """``build_dashboard``'s figures, from the cache when computed less than cache_seconds() ago."""
    filters = filters or DashboardFilters()
    seconds = cache_seconds()
    key = _cache_key(filters, list_limit)
    if seconds and not refresh:
        data = cache.get(key)
        if data is not None:
            return dict(data)
    data = build_dashboard(filters, list_limit=list_limit)
    if seconds:
        cache.set(key, data, seconds)
    return data


def warm_cache() -> None:
    """Precompute the unfiltered dashboard (page and downloads), e.g. from a periodic task."""
    for limit in (LIST_LIMIT, None):
        cached_dashboard(DashboardFilters(), list_limit=limit, refresh=True)
