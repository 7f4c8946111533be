"""Materialise the delay rules (delays.rules) into RequestDelay rows.

``materialise_request`` recomputes one request from its own events (a transition's task);
``materialise_requests`` does the same in bulk (imports, the nightly refresh). Their cost
depends on the events of the requests they are given, never on the size of the database:
the forecast's medians come from DelayBaseline (one row per population), refreshed by
``refresh_baseline``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access_requests.models import AccessRequest, Event
from access_requests.workflow import EXPRESSLY_FAVOURABLE_OPINIONS, ROUTES_WITHOUT_REVIEW, EventAction, Route, State
from delays import rules
from delays.models import STAGE_FIELDS, DelayBaseline, RequestDelay
from delays.statistics import stage_statistics_as_of

# DelayBaseline keys: the population of requests that need matching, and the rest.
POPULATIONS: dict[bool, str] = {True: "target", False: "other"}
BATCH = 2000
_UPDATE_FIELDS = [
    f.name for f in RequestDelay._meta.concrete_fields if f.name != "request"
]


def _resume_policy(stage: str) -> str:
    """'reset' (the period restarts when the stage resumes) or 'continue' (days carried)."""
    return settings.HDH_CLOCK_RESUME_POLICY.get(stage, "reset")


def statutory_visits(result: rules.ComputedDelay, *, extension_instants: Sequence[dt.datetime],
                     cesrees_opinion: str) -> list[dict[str, Any]]:
    """Every stage visit of ``result`` with its statutory clock, as JSON-ready dicts.

    Under the 'continue' policy a resumed visit keeps the days already consumed in the
    earlier visits of the same stage; under 'reset' its period starts again. A CESREES or
    CNIL extension applies to the visit in which it was recorded and to later ones.
    """
    consumed: dict[str, float] = defaultdict(float)
    extensions = [(at, _stage_at(result, at)) for at in extension_instants]
    out = []
    for visit in result.stage_visits:
        entered = visit.start
        if _resume_policy(visit.stage) == "continue":
            entered = visit.start - dt.timedelta(days=consumed[visit.stage])
        extended = any(stage == visit.stage and (visit.end is None or at <= visit.end) for at, stage in extensions)
        clock = rules.statutory_due(
            visit.stage, entered, extended=extended, subdiv=settings.HDH_HOLIDAYS_SUBDIV,
            cesrees_expressly_favourable=cesrees_opinion in EXPRESSLY_FAVOURABLE_OPINIONS,
            cnil_silence_is_authorisation_always=settings.HDH_CNIL_SILENCE_ALWAYS_AUTHORISES,
        )
        consumed[visit.stage] += visit.days
        out.append({
            "stage": visit.stage,
            "start": visit.start.isoformat(),
            "end": visit.end.isoformat() if visit.end else None,
            "days": visit.days,
            "due_date": clock.due_date.isoformat() if clock else None,
            "tacit_decision": clock.tacit_decision if clock else None,
            "tacit_effect_date": clock.tacit_effect_date.isoformat() if clock and clock.tacit_effect_date else None,
        })
    return out


def _stage_at(result: rules.ComputedDelay, at: dt.datetime) -> str | None:
    for visit in result.stage_visits:
        if visit.start <= at and (visit.end is None or at < visit.end):
            return visit.stage
    return None


def forecast_path(route: str) -> tuple[str, ...]:
    """The stages a request still has to go through: MR and simplified access skip the committees."""
    if route in ROUTES_WITHOUT_REVIEW:
        return (rules.SUBMITTED, rules.CONTRACTING, rules.MATCHING, rules.EXTRACTION)
    return rules.STANDARD_PATH


def build_row(request_id: int, *, requires_matching: bool, cesrees_opinion: str, route: str = Route.STANDARD,
              events: Sequence[tuple[str, dt.datetime]], extension_instants: Sequence[dt.datetime],
              now: dt.datetime, medians: dict[str, float]) -> RequestDelay | None:
    """The RequestDelay of one request from its transition events, or None if never submitted."""
    result = rules.compute_delay(
        events, requires_matching=requires_matching, as_of=now, medians=medians, path=forecast_path(route),
        target_months=settings.HDH_TARGET_MONTHS,
    )
    if result is None:
        return None
    visits = statutory_visits(result, extension_instants=extension_instants, cesrees_opinion=cesrees_opinion)
    open_visit = result.stage_visits[-1] if result.ended_at is None and result.stage_visits else None
    paused_stage = ""
    if open_visit and open_visit.stage == State.AWAITING_APPLICANT:
        paused_stage = next((v.stage for v in reversed(result.stage_visits) if v.stage in rules.STANDARD_PATH), "")
    row = RequestDelay(
        request_id=request_id, requires_matching=requires_matching, state=result.current_state,
        submitted_at=result.submitted_at, delivered_at=result.delivered_at, ended_at=result.ended_at,
        last_event_at=events[-1][1], deadline=result.deadline, elapsed_days=result.elapsed_days,
        applicant_days=result.applicant_days,
        current_stage=open_visit.stage if open_visit else "",
        current_since=open_visit.start if open_visit else None,
        paused_stage=paused_stage,
        current_due_date=dt.date.fromisoformat(visits[-1]["due_date"]) if open_visit and visits[-1]["due_date"] else None,
        target_met=result.target_met, status=result.status, forecast_at=result.forecast_at,
        visits=visits, computed_at=now,
    )
    for stage, field in STAGE_FIELDS.items():
        setattr(row, field, result.stage_days[stage])
    return row


def current_medians(requires_matching: bool = True) -> dict[str, float]:
    """The forecast baseline of a population: median stage days of its delivered requests."""
    baseline = DelayBaseline.objects.filter(key=POPULATIONS[requires_matching]).first()
    return dict(baseline.medians) if baseline else {}


def baseline_medians() -> dict[bool, dict[str, float]]:
    """Both populations' baselines (one query)."""
    found = {row.key: dict(row.medians) for row in DelayBaseline.objects.filter(key__in=POPULATIONS.values())}
    return {matching: found.get(key, {}) for matching, key in POPULATIONS.items()}


def load_events(request_ids: Sequence[int], *, until: dt.datetime | None = None
                ) -> tuple[dict[int, list[tuple[str, dt.datetime]]], dict[int, list[dt.datetime]]]:
    """Each request's state changes ``(to_state, at)`` and the instants of its review
    extensions, in order (only up to ``until`` when given)."""
    events: dict[int, list[tuple[str, dt.datetime]]] = defaultdict(list)
    extensions: dict[int, list[dt.datetime]] = defaultdict(list)
    rows = Event.objects.filter(request_id__in=request_ids)
    if until is not None:
        rows = rows.filter(at__lte=until)
    values = rows.order_by("request_id", "at", "id").values_list("request_id", "from_state", "to_state", "action", "at")
    for request_id, from_state, to_state, action, at in values.iterator(chunk_size=10000):
        if action == EventAction.EXTEND_REVIEW:
            extensions[request_id].append(at)
        elif from_state != to_state:
            events[request_id].append((to_state, at))
    return events, extensions


def build_rows(request_ids: Sequence[int], *, now: dt.datetime, medians: dict[bool, dict[str, float]],
               until: dt.datetime | None = None) -> tuple[list[RequestDelay], list[int]]:
    """The RequestDelay rows of ``request_ids`` computed from their events as of ``now``
    (events up to ``until``), unsaved; and the ids that have none (never submitted)."""
    requests = {
        pk: (matching, opinion, route)
        for pk, matching, opinion, route in AccessRequest.objects.filter(pk__in=request_ids).values_list(
            "pk", "requires_matching", "cesrees_opinion", "route")
    }
    events, extensions = load_events(request_ids, until=until)
    rows, empty = [], []
    for pk in request_ids:
        if pk not in requests or not events.get(pk):
            empty.append(pk)
            continue
        matching, opinion, route = requests[pk]
        row = build_row(pk, requires_matching=matching, cesrees_opinion=opinion, route=route, events=events[pk],
                        extension_instants=extensions.get(pk, []), now=now, medians=medians.get(matching, {}))
        if row is None:
            empty.append(pk)
        else:
            rows.append(row)
    return rows, empty


def materialise_requests(request_ids: Iterable[int], *, now: dt.datetime | None = None,
                         medians: dict[bool, dict[str, float]] | None = None) -> int:
    """Recompute the RequestDelay rows of ``request_ids`` in bulk; returns rows written.

    ``medians``: the forecast baseline per population (requires_matching), by default the
    stored one.
    """
    now = now or timezone.now()
    medians = baseline_medians() if medians is None else medians
    ids = sorted(set(request_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        rows, empty = build_rows(ids[start:start + BATCH], now=now, medians=medians)
        with transaction.atomic():
            if empty:
                RequestDelay.objects.filter(request_id__in=empty).delete()
            RequestDelay.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["request"], update_fields=_UPDATE_FIELDS,
                batch_size=1000,
            )
        written += len(rows)
    return written


def materialise_request(request_id: int) -> None:
    """Recompute one request's delay row from its own events (idempotent)."""
    materialise_requests([request_id])


def refresh_baseline(*, now: dt.datetime | None = None) -> dict[bool, dict[str, float]]:
    """Recompute the stage medians of each population's delivered requests into DelayBaseline."""
    now = now or timezone.now()
    medians = {}
    for matching, key in POPULATIONS.items():
        medians[matching] = rules.stage_medians(stage_statistics_as_of(now, requires_matching=matching))
        DelayBaseline.objects.update_or_create(key=key, defaults={"medians": medians[matching], "computed_at": now})
    return medians


def refresh_open_delays(*, now: dt.datetime | None = None) -> int:
    """Nightly: time passes for open requests. Refresh the baseline, then every open row."""
    now = now or timezone.now()
    medians = refresh_baseline(now=now)
    open_ids = list(
        AccessRequest.objects.exclude(state=State.DRAFT)
        .exclude(delay__ended_at__isnull=False).values_list("pk", flat=True)
    )
    return materialise_requests(open_ids, now=now, medians=medians)
