"""The delay report: where the 7-month target is missed, stage by stage, as of an instant.

Aggregates over delivered requests come from ``delays.statistics``; each request is
evaluated at ``as_of`` by ``delays.clock`` (the same figures the portal and the back office
show).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from delays import rules, summary
from delays.clock import ROW_FIELDS, Medians, RequestClock, VisitClock, clocks_as_of, statuses_as_of
from delays.holders import bottleneck_holder, holder_figures, tasks_as_of
from delays.models import RequestDelay
from delays.statistics import (
    aggregate,
    delivered_target_rows,
    forecast_baseline,
    headline,
    headline_json,
    make_headline,
)
from hdh_access.lib.dates import paris_date

ROUND = 3


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), ROUND)


def _rows(as_of: dt.datetime, *, only_open: bool, requires_matching: bool | None) -> QuerySet[RequestDelay]:
    """The rows of the requests submitted by ``as_of`` (and still open then, with ``only_open``)."""
    qs = RequestDelay.objects.filter(submitted_at__lte=as_of)
    if requires_matching is not None:
        qs = qs.filter(requires_matching=requires_matching)
    if only_open:
        qs = qs.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=as_of))
    return qs


def evaluate(as_of: dt.datetime, *, only_open: bool, requires_matching: bool | None,
             medians_by_population: Medians) -> list[RequestClock]:
    """Every request submitted by ``as_of`` (or only those still open then), as of ``as_of``."""
    qs = _rows(as_of, only_open=only_open, requires_matching=requires_matching)
    rows = qs.order_by("submitted_at", "request_id").values(*ROW_FIELDS).iterator(chunk_size=5000)
    clocks = clocks_as_of(rows, as_of, medians=medians_by_population)
    if only_open:
        clocks = [c for c in clocks if c.is_open]
    clocks.sort(key=lambda c: (c.submitted_at, c.request_id))
    return clocks


# --- the report --------------------------------------------------------------------------
def build_report(as_of: dt.datetime, *, detail: bool = False) -> dict[str, Any]:
    # Over the delivered target requests: from the dashboard's summary (delays.summary) when it
    # covers as_of, else from the rows; the same figures either way.
    if summary.covers(as_of):
        kept = summary.Figures(paris_date(as_of))
        access, stats, overall = kept.access(), kept.stage_statistics(), make_headline(*kept.headline())
    else:
        access, stats = aggregate(as_of, requires_matching=True)
        overall = headline(delivered_target_rows(as_of))
    medians = {True: forecast_baseline(as_of, requires_matching=True, overall=(access, stats))}
    if detail:
        medians[False] = forecast_baseline(as_of, requires_matching=False)
    # Open target requests by status (delays.clock.statuses_as_of: the late ones need no forecast).
    counts = statuses_as_of(_rows(as_of, only_open=True, requires_matching=True), as_of, medians=medians)
    # The headline (delivered, met, share_met, institution days): one definition, statistics.headline.
    figures = headline_json(overall)
    # Post-decision time by data holder (delays.holders): every request's tasks, not only the target's.
    holders = holder_figures(as_of)
    slowest = bottleneck_holder(holders)
    report = {
        "as_of": as_of.isoformat(),
        "target_months": settings.HDH_TARGET_MONTHS,
        "summary": {
            "delivered": figures["delivered"],
            "met": figures["met"],
            "missed": figures["delivered"] - figures["met"],
            "late": counts[rules.STATUS_LATE],
            "at_risk": counts[rules.STATUS_AT_RISK],
            "on_track": counts[rules.STATUS_ON_TRACK],
            "share_met": figures["share_met"],
            "mean_institution_days": figures["mean_institution_days"],
            "median_institution_days": figures["median_institution_days"],
            "p90_institution_days": figures["p90_institution_days"],
            "mean_access_days": _r(access["mean"]),
            "median_access_days": _r(access["median"]),
            "bottleneck_stage": rules.bottleneck_stage(stats),
            "bottleneck_holder": slowest.code if slowest else None,
        },
        "stages": {
            stage: {"count": s["count"], "mean_days": _r(s["mean_days"]), "median_days": _r(s["median_days"]),
                    "p90_days": _r(s["p90_days"])}
            for stage, s in stats.items()
        },
        "holders": {figure.code: figure.as_json() for figure in holders},
    }
    if detail:
        rows = evaluate(as_of, only_open=False, requires_matching=None, medians_by_population=medians)
        tasks = tasks_as_of(as_of)
        report["applications"] = [application_json(r, tasks.get(r.request_id, [])) for r in rows]
    return report


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _visit_json(visit: VisitClock) -> dict[str, Any]:
    return {
        "stage": visit.stage,
        "entered_at": visit.entered_at.isoformat(),
        "left_at": _iso(visit.left_at),
        "due_date": _iso(visit.due_date),
        "extended": visit.extended,
        "urgent": visit.urgent,
        "paused_days": visit.paused_days,
        "overdue": visit.overdue,
        "tacit_decision": visit.tacit_decision,
        "tacit_effect_date": _iso(visit.tacit_effect_date),
        "projected": visit.projected,
    }


#: The fields of a visit in ``delay_report --detail`` (JSON keys, CSV columns after the reference).
VISIT_FIELDS = ("stage", "entered_at", "left_at", "due_date", "extended", "urgent", "paused_days", "overdue",
                "tacit_decision", "tacit_effect_date", "projected")


def application_json(clock: RequestClock, holder_tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "reference": clock.reference,
        "state": clock.state,
        "requires_matching": clock.requires_matching,
        "submitted_at": clock.submitted_at.isoformat(),
        "delivered_at": _iso(clock.delivered_at),
        "deadline": clock.deadline.isoformat(),
        "elapsed_days": _r(clock.elapsed_days),
        "applicant_days": _r(clock.applicant_days),
        "stage_days": {stage: _r(days) for stage, days in clock.stage_days.items()},
        "target_met": clock.target_met,
        "status": clock.status,
        "forecast_at": _iso(clock.forecast_at),
        "visits": [_visit_json(v) for v in clock.visits],
        # One per data holder once the request reached contracting (delays.holders.TASK_FIELDS).
        "holder_tasks": holder_tasks,
    }
