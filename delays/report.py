"""The delay report: where the 7-month target is missed, stage by stage, as of an instant.

Aggregates over delivered requests are computed in SQL on PostgreSQL (``percentile_cont``)
and in Python on SQLite, from the materialised RequestDelay rows. Open requests are
evaluated at ``as_of`` from their row (the open stay grows linearly until the next event);
a request whose last event is later than ``as_of`` (a report replayed in the past) is
recomputed from its events.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

from access_requests.models import AccessRequest, Event
from delays import rules
from delays.materialise import STAGE_FIELDS, forecast_path
from delays.models import RequestDelay
from hdh_access.lib.dates import paris_date

ROUND = 3
_ROW_FIELDS = [
    "request_id", "request__reference", "request__route", "state", "requires_matching", "submitted_at", "delivered_at",
    "ended_at", "last_event_at", "deadline", "elapsed_days", "applicant_days", "current_stage",
    "current_since", "paused_stage", "target_met", "status", "computed_at", *STAGE_FIELDS.values(),
]


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), ROUND)


def _delivered_rows(as_of: dt.datetime, requires_matching: bool):
    return RequestDelay.objects.filter(requires_matching=requires_matching, delivered_at__lte=as_of)


# --- aggregates over delivered requests --------------------------------------------------
_AGG_FIELDS = ["elapsed_days", "target_met", *STAGE_FIELDS.values()]


def _aggregate_sql(delivered: QuerySet[RequestDelay]) -> tuple[dict, dict]:
    """One PostgreSQL query over the given rows (the ORM writes the filter, SQL the percentiles)."""
    inner, params = delivered.values(*_AGG_FIELDS).query.sql_with_params()
    parts = [
        "count(*)", "count(*) FILTER (WHERE target_met)", "avg(elapsed_days)",
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY elapsed_days)",
    ]
    for field in STAGE_FIELDS.values():
        parts += [
            f"count(*) FILTER (WHERE {field} > 0)",
            f"avg({field}) FILTER (WHERE {field} > 0)",
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {field}) FILTER (WHERE {field} > 0)",
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {field}) FILTER (WHERE {field} > 0)",
        ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)} FROM ({inner}) AS delivered", params)
        values = cursor.fetchone()
    access = {"delivered": values[0], "met": values[1], "mean": values[2], "median": values[3]}
    stats = {}
    for index, stage in enumerate(STAGE_FIELDS):
        count, mean, median, p90 = values[4 + 4 * index: 8 + 4 * index]
        stats[stage] = rules.StageStats(count=count, mean_days=mean, median_days=median, p90_days=p90)
    return access, stats


def _aggregate_python(delivered: QuerySet[RequestDelay]) -> tuple[dict, dict]:
    rows = list(delivered.values_list(*_AGG_FIELDS))
    elapsed = [r[0] for r in rows]
    access = {
        "delivered": len(rows), "met": sum(1 for r in rows if r[1]),
        "mean": sum(elapsed) / len(elapsed) if elapsed else None,
        "median": rules.percentile_cont(elapsed, 0.5),
    }
    stage_rows = ({stage: r[2 + i] for i, stage in enumerate(STAGE_FIELDS)} for r in rows)
    return access, rules.stage_statistics(stage_rows)


def aggregate_rows(delivered: QuerySet[RequestDelay]) -> tuple[dict, dict]:
    """Access-delay figures and per-stage statistics of ``delivered`` rows: SQL on PostgreSQL, Python elsewhere."""
    if connection.vendor == "postgresql":
        return _aggregate_sql(delivered)
    return _aggregate_python(delivered)


def aggregate(as_of: dt.datetime, *, requires_matching: bool = True) -> tuple[dict, dict]:
    return aggregate_rows(_delivered_rows(as_of, requires_matching))


def stage_statistics_as_of(as_of: dt.datetime, *, requires_matching: bool = True) -> dict:
    return aggregate(as_of, requires_matching=requires_matching)[1]


# --- each request as of the report's instant ---------------------------------------------
def _row_as_of(row: dict, as_of: dt.datetime, medians: dict[str, float]) -> dict:
    """The request's measures at ``as_of`` from its materialised row (as_of >= last event)."""
    stage_days = {stage: row[field] for stage, field in STAGE_FIELDS.items()}
    elapsed, applicant = row["elapsed_days"], row["applicant_days"]
    status, target_met, forecast = row["status"], row["target_met"], None
    if row["ended_at"] is None:
        # Open: the current stay grows from computed_at to as_of (negative if before).
        delta = (as_of - row["computed_at"]).total_seconds() / 86400
        current = row["current_stage"]
        stage_days[current] += delta
        elapsed += delta
        if current == rules.AWAITING_APPLICANT:
            applicant += delta
        forecast = _forecast(row, as_of, stage_days, medians)
        if paris_date(as_of) > row["deadline"]:
            status = rules.STATUS_LATE
        elif paris_date(forecast) > row["deadline"]:
            status = rules.STATUS_AT_RISK
        else:
            status = rules.STATUS_ON_TRACK
    return {
        "reference": row["request__reference"], "state": row["state"],
        "requires_matching": row["requires_matching"], "submitted_at": row["submitted_at"],
        "delivered_at": row["delivered_at"], "deadline": row["deadline"], "elapsed_days": elapsed,
        "applicant_days": applicant, "stage_days": stage_days, "target_met": target_met,
        "status": status, "forecast_at": forecast,
    }


def _forecast(row: dict, as_of: dt.datetime, stage_days: dict[str, float], medians: dict[str, float]) -> dt.datetime:
    """Same rule as rules.compute_delay's forecast, from the row's open stay."""
    segments = []
    if row["paused_stage"]:
        segments.append(rules._Segment(row["paused_stage"], row["current_since"], row["current_since"], dt.timedelta()))
    segments.append(
        rules._Segment(row["current_stage"], row["current_since"], None, as_of - row["current_since"])
    )
    totals = {stage: dt.timedelta(days=days) for stage, days in stage_days.items()}
    return rules._forecast(segments, totals, requires_matching=row["requires_matching"], as_of=as_of,
                            medians=medians, path=forecast_path(row["request__route"]))


def _replayed(request_ids: list[int], as_of: dt.datetime, medians_by_population: dict[bool, dict]) -> dict[int, dict]:
    """Requests with events after ``as_of``: recomputed from their events."""
    events: dict[int, list] = defaultdict(list)
    rows = (
        Event.objects.filter(request_id__in=request_ids, at__lte=as_of).exclude(action="extend_review")
        .order_by("request_id", "at", "id").values_list("request_id", "from_state", "to_state", "at")
    )
    for request_id, from_state, to_state, at in rows.iterator(chunk_size=10000):
        if from_state != to_state:
            events[request_id].append((to_state, at))
    info, matching, routes = {}, {}, {}
    for pk, reference, requires_matching, route in AccessRequest.objects.filter(pk__in=request_ids).values_list(
            "pk", "reference", "requires_matching", "route"):
        info[pk], matching[pk], routes[pk] = reference, requires_matching, route
    out = {}
    for pk in request_ids:
        result = rules.compute_delay(
            events[pk], requires_matching=matching[pk], as_of=as_of,
            medians=medians_by_population.get(matching[pk], {}), target_months=settings.HDH_TARGET_MONTHS,
            path=forecast_path(routes[pk]),
        )
        if result is None:
            continue
        out[pk] = {
            "reference": info[pk], "state": result.current_state, "requires_matching": matching[pk],
            "submitted_at": result.submitted_at, "delivered_at": result.delivered_at, "deadline": result.deadline,
            "elapsed_days": result.elapsed_days, "applicant_days": result.applicant_days,
            "stage_days": dict(result.stage_days), "target_met": result.target_met, "status": result.status,
            "forecast_at": result.forecast_at,
        }
    return out


def evaluate(as_of: dt.datetime, *, only_open: bool, requires_matching: bool | None,
             medians_by_population: dict[bool, dict]) -> list[dict]:
    """Every request submitted by ``as_of`` (or only those still open then), as of ``as_of``."""
    qs = RequestDelay.objects.filter(submitted_at__lte=as_of)
    if requires_matching is not None:
        qs = qs.filter(requires_matching=requires_matching)
    if only_open:
        qs = qs.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=as_of))
    results, replay = [], []
    for row in qs.order_by("submitted_at", "request_id").values(*_ROW_FIELDS).iterator(chunk_size=5000):
        if row["last_event_at"] <= as_of:
            results.append((row["request_id"], _row_as_of(row, as_of, medians_by_population.get(row["requires_matching"], {}))))
        else:
            replay.append(row["request_id"])
    if replay:
        results.extend(_replayed(replay, as_of, medians_by_population).items())
    results.sort(key=lambda item: (item[1]["submitted_at"], item[0]))
    return [r for _, r in results]


# --- the report --------------------------------------------------------------------------
def build_report(as_of: dt.datetime, *, detail: bool = False) -> dict:
    access, stats = aggregate(as_of, requires_matching=True)
    medians = {True: rules.stage_medians(stats)}
    if detail:
        medians[False] = rules.stage_medians(stage_statistics_as_of(as_of, requires_matching=False))
    open_rows = evaluate(as_of, only_open=True, requires_matching=True, medians_by_population=medians)
    counts = defaultdict(int)
    for row in open_rows:
        counts[row["status"]] += 1
    delivered = access["delivered"]
    report = {
        "as_of": as_of.isoformat(),
        "target_months": settings.HDH_TARGET_MONTHS,
        "summary": {
            "delivered": delivered,
            "met": access["met"],
            "missed": delivered - access["met"],
            "late": counts[rules.STATUS_LATE],
            "at_risk": counts[rules.STATUS_AT_RISK],
            "on_track": counts[rules.STATUS_ON_TRACK],
            "share_met": _r(access["met"] / delivered) if delivered else None,
            "mean_access_days": _r(access["mean"]),
            "median_access_days": _r(access["median"]),
            "bottleneck_stage": rules.bottleneck_stage(stats),
        },
        "stages": {
            stage: {"count": s["count"], "mean_days": _r(s["mean_days"]), "median_days": _r(s["median_days"]),
                    "p90_days": _r(s["p90_days"])}
            for stage, s in stats.items()
        },
    }
    if detail:
        rows = evaluate(as_of, only_open=False, requires_matching=None, medians_by_population=medians)
        report["applications"] = [_application_json(r) for r in rows]
    return report


def _application_json(row: dict) -> dict:
    return {
        "reference": row["reference"],
        "state": row["state"],
        "requires_matching": row["requires_matching"],
        "submitted_at": row["submitted_at"].isoformat(),
        "delivered_at": row["delivered_at"].isoformat() if row["delivered_at"] else None,
        "deadline": row["deadline"].isoformat(),
        "elapsed_days": _r(row["elapsed_days"]),
        "applicant_days": _r(row["applicant_days"]),
        "stage_days": {stage: _r(days) for stage, days in row["stage_days"].items()},
        "target_met": row["target_met"],
        "status": row["status"],
        "forecast_at": row["forecast_at"].isoformat() if row["forecast_at"] else None,
    }
