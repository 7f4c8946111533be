"""Materialise the delay rules (delays.rules) into RequestDelay rows.

``materialise_request`` recomputes one request from its own events (a transition's task);
``materialise_requests`` does the same in bulk (imports, the nightly refresh), and
``materialise_requests_bulk`` the same again for the history import on PostgreSQL (the pure
rules over all cores, the rows written by COPY). Their cost
depends on the events of the requests they are given, never on the size of the database:
the forecast's medians come from DelayBaseline (one row per population), refreshed by
``refresh_baseline``.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Sequence
from multiprocessing.pool import AsyncResult
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from access_requests.models import AccessRequest, Event
from access_requests.selectors.clock import ClockLog, clock_log_rows, clock_logs, clock_logs_of, clock_policy
from access_requests.workflow import ROUTES_WITHOUT_REVIEW, Route, State
from delays import rules, summary
from delays.holders import refresh_holder_medians
from delays.models import STAGE_FIELDS, DelayBaseline, RequestDelay
from delays.statistics import forecast_baseline, route_medians
from hdh_access.lib import pgcopy

# DelayBaseline keys: the population of requests that need matching, and the rest.
POPULATIONS: dict[bool, str] = {True: "target", False: "other"}
BATCH = 2000
_UPDATE_FIELDS = [
    f.name for f in RequestDelay._meta.concrete_fields if f.name != "request"
]


def visit_records(result: rules.ComputedDelay, facts: rules.ClockFacts, *, until: dt.datetime) -> list[dict[str, Any]]:
    """Every stage visit of ``result`` with its legal clock (delays.rules.statutory_visits), as
    the JSON ``RequestDelay.visits`` stores: what does not depend on the instant it is read at."""
    out = []
    for visit in rules.statutory_visits(result.stage_visits, facts, policy=clock_policy(), until=until):
        out.append({
            "stage": visit.stage,
            "start": visit.entered_at.isoformat(),
            "end": visit.left_at.isoformat() if visit.left_at else None,
            "days": visit.days,
            "due_date": visit.due_date.isoformat() if visit.due_date else None,
            "extended": visit.extended,
            "urgent": visit.urgent,
            "reason": visit.reason,
            "silence": visit.silence,
        })
    return out


def forecast_path(route: str) -> tuple[str, ...]:
    """The stages a request still has to go through: MR and simplified access skip the committees."""
    if route in ROUTES_WITHOUT_REVIEW:
        return (rules.SUBMITTED, rules.CONTRACTING, rules.MATCHING, rules.EXTRACTION)
    return rules.STANDARD_PATH


def request_values(request_id: int, request: tuple[bool, str, str] | None, log: ClockLog | None, *, now: dt.datetime,
                   medians: dict[bool, dict[str, Any]]) -> dict[str, Any] | None:
    """``row_values`` of one request from what both paths read: ``request`` (requires_matching,
    cesrees_opinion, route) and its clock log (``clock_logs``); None if never submitted."""
    if request is None or log is None or not log.transitions:
        return None
    matching, opinion, route = request
    return row_values(request_id, requires_matching=matching, route=route, events=log.transitions,
                      facts=log.facts(route=route, cesrees_opinion=opinion), now=now,
                      medians=route_medians(medians.get(matching, {}), route))


def row_values(request_id: int, *, requires_matching: bool, route: str = Route.STANDARD,
               events: Sequence[tuple[str, dt.datetime]], facts: rules.ClockFacts,
               now: dt.datetime, medians: dict[str, float]) -> dict[str, Any] | None:
    """A RequestDelay's values by field attribute name (every concrete field), without the model
    instance (the bulk path formats them as COPY text straight away)."""
    result = rules.compute_delay(
        events, requires_matching=requires_matching, as_of=now, medians=medians, path=forecast_path(route),
        target_months=settings.HDH_TARGET_MONTHS,
    )
    if result is None:
        return None
    visits = visit_records(result, facts, until=now)
    open_visit = result.stage_visits[-1] if result.ended_at is None and result.stage_visits else None
    paused_stage = ""
    if open_visit and open_visit.stage == State.AWAITING_APPLICANT:
        paused_stage = next((v.stage for v in reversed(result.stage_visits) if v.stage in rules.STANDARD_PATH), "")
    row: dict[str, Any] = dict(
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
        row[field] = result.stage_days[stage]
    return row


def baseline_medians() -> dict[bool, dict[str, Any]]:
    """Both populations' baselines (one query)."""
    return _committed_baseline()[1]


# The pages' copy of the baseline (every request's page forecasts with it; it changes nightly and
# after an import): in the shared cache, replaced with the database's once a change commits.
BASELINE_CACHE_KEY = "hdh:delays:baseline"
BASELINE_CACHE_SECONDS = 600


def _committed_baseline() -> tuple[dt.datetime | None, dict[bool, dict[str, Any]]]:
    """Both populations' baselines as the database holds them, stamped with their newest
    ``computed_at`` (one query)."""
    rows = list(DelayBaseline.objects.filter(key__in=POPULATIONS.values()))
    found = {row.key: dict(row.medians) for row in rows}
    stamp = max((row.computed_at for row in rows), default=None)
    return stamp, {matching: found.get(key, {}) for matching, key in POPULATIONS.items()}


def shown_baseline_medians() -> dict[bool, dict[str, Any]]:
    """``baseline_medians`` for the pages, from the shared cache (``CACHE_URL``) when it holds
    them. Never for computing rows.

    Inside a transaction the database's rows, and the cache is left alone: they may be a change
    not yet committed (and perhaps rolled back). Outside, a page that reads the database adds
    what it read only if the key is absent, and a committed change sets the key: a page that read
    the old rows just before the commit cannot put them back after it."""
    if not settings.CACHE_URL or connection.in_atomic_block:  # no shared cache: each process its own
        return baseline_medians()
    cached: tuple[dt.datetime | None, dict[bool, dict[str, Any]]] | None = cache.get(BASELINE_CACHE_KEY)
    if cached is None:
        cached = _committed_baseline()
        cache.add(BASELINE_CACHE_KEY, cached, BASELINE_CACHE_SECONDS)
    return cached[1]


def forget_shown_baseline() -> None:
    cache.delete(BASELINE_CACHE_KEY)


def _cache_committed_baseline() -> None:
    stamp, medians = _committed_baseline()
    cached = cache.get(BASELINE_CACHE_KEY)
    # Two changes committed close together: the hook of the older one, late, keeps the newer.
    if cached is not None and stamp is not None and cached[0] is not None and cached[0] > stamp:
        return
    cache.set(BASELINE_CACHE_KEY, (stamp, medians), BASELINE_CACHE_SECONDS)


def _baseline_changed(**_kwargs: Any) -> None:
    # Now, and the committed rows once the change commits (a rollback leaves the key empty: the
    # next page outside a transaction reads the committed rows).
    forget_shown_baseline()
    transaction.on_commit(_cache_committed_baseline, robust=True)


post_save.connect(_baseline_changed, sender=DelayBaseline, dispatch_uid="hdh-shown-baseline")
post_delete.connect(_baseline_changed, sender=DelayBaseline, dispatch_uid="hdh-shown-baseline")


def build_rows(request_ids: Sequence[int], *, now: dt.datetime, medians: dict[bool, dict[str, Any]],
               until: dt.datetime | None = None, lock: bool = False) -> tuple[list[RequestDelay], list[int]]:
    """The RequestDelay rows of ``request_ids`` computed from their events as of ``now``
    (events up to ``until``), unsaved; and the ids that have none (never submitted). ``lock``:
    lock the requests first (inside a transaction), before their events are read."""
    chosen = AccessRequest.objects.filter(pk__in=request_ids)
    if lock:
        chosen = chosen.select_for_update(of=("self",)).order_by("pk")
    requests = {
        pk: (matching, opinion, route)
        for pk, matching, opinion, route in chosen.values_list("pk", "requires_matching", "cesrees_opinion", "route")
    }
    logs = clock_logs(request_ids, until=until)
    rows, empty = [], []
    for pk in request_ids:
        values = request_values(pk, requests.get(pk), logs.get(pk), now=now, medians=medians)
        if values is None:
            empty.append(pk)
        else:
            rows.append(RequestDelay(**values))
    return rows, empty


def materialise_requests(request_ids: Iterable[int], *, now: dt.datetime | None = None,
                         medians: dict[bool, dict[str, Any]] | None = None, track_summary: bool = True) -> int:
    """Recompute the RequestDelay rows of ``request_ids`` in bulk; returns rows written.

    ``medians``: the forecast baseline per population (requires_matching), by default the
    stored one. ``track_summary``: move the dashboard's summary (delays.summary) with the rows;
    False when the caller rebuilds it afterwards (``summary.rebuild_summary``).
    """
    now = now or timezone.now()
    medians = baseline_medians() if medians is None else medians
    ids = sorted(set(request_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        with transaction.atomic():
            # The dashboard's summary moves with the rows, in the same transaction: the requests are
            # locked first, so that two recomputes of one request take turns.
            tracked = track_summary and summary.enabled()
            rows, empty = build_rows(batch, now=now, medians=medians, lock=tracked)
            before = summary.before_write(batch) if tracked else None
            if empty:
                RequestDelay.objects.filter(request_id__in=empty).delete()
            RequestDelay.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["request"], update_fields=_UPDATE_FIELDS,
                batch_size=1000,
            )
            summary.after_write(batch, before)
        written += len(rows)
    return written


def materialise_request(request_id: int) -> None:
    """Recompute one request's delay row from its own events (idempotent)."""
    materialise_requests([request_id])


def refresh_baseline(*, now: dt.datetime | None = None) -> dict[bool, dict[str, Any]]:
    """Recompute each population's forecast baseline (its delivered requests' stage medians,
    overall and per route: statistics.forecast_baseline) into DelayBaseline."""
    now = now or timezone.now()
    medians = {}
    for matching, key in POPULATIONS.items():
        medians[matching] = forecast_baseline(now, requires_matching=matching)
        DelayBaseline.objects.update_or_create(key=key, defaults={"medians": medians[matching], "computed_at": now})
    return medians


def refresh_open_delays(*, now: dt.datetime | None = None) -> int:
    """Nightly: time passes for open requests. Refresh the baseline and each data holder's typical
    duration (the default due date of its next tasks), then every open row."""
    now = now or timezone.now()
    medians = refresh_baseline(now=now)
    refresh_holder_medians(now)
    open_ids = list(
        AccessRequest.objects.exclude(state=State.DRAFT)
        .exclude(delay__ended_at__isnull=False).values_list("pk", flat=True)
    )
    return materialise_requests(open_ids, now=now, medians=medians)


# --- in bulk, for an import: the pure rules over all cores, the rows written by COPY ------------
copy_value = pgcopy.copy_value
# Requests below this count are computed in the calling process (starting workers costs more).
PARALLEL_THRESHOLD = 4 * BATCH
_COPY_FIELDS = tuple(f.attname for f in RequestDelay._meta.concrete_fields)
_COPY_SQL = 'COPY "{}" ({}) FROM STDIN'.format(
    RequestDelay._meta.db_table, ", ".join(f'"{f.column}"' for f in RequestDelay._meta.concrete_fields))
# What the workers get for a batch: each request's attributes (requires_matching, CESREES
# opinion, route) and its events as ``clock_log_rows`` selects them, unparsed (the main process
# only fetches; the workers build the logs and run the rules).
_Inputs = tuple[dict[int, tuple[bool, str, str]], list[tuple[Any, ...]]]


def _bulk_inputs(request_ids: Sequence[int]) -> _Inputs:
    """Plain data for the rules, in two queries; the events through a plain cursor (no model
    layer: the rows go to the workers as the driver returns them)."""
    requests = {
        pk: (matching, opinion, route)
        for pk, matching, opinion, route in AccessRequest.objects.filter(pk__in=request_ids).values_list(
            "pk", "requires_matching", "cesrees_opinion", "route")
    }
    sql, params = clock_log_rows(Event.objects.filter(request_id__in=list(request_ids))).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        events = cursor.fetchall()
    return requests, events


def _bulk_lines(inputs: _Inputs, now: dt.datetime, medians: dict[bool, dict[str, Any]],
                defer_open: bool = False) -> tuple[list[str], list[int]]:
    """The RequestDelay rows of a batch as COPY text (``request_values``: the same rows as
    ``materialise_requests``), and with ``defer_open`` the ids of the open requests, whose rows
    are left out (their forecast waits for the refreshed baseline: ``_is_open``). Runs in the
    worker processes: plain data in, text out."""
    requests, events = inputs
    logs = clock_logs_of(events)
    lines, deferred = [], []
    for pk in sorted(requests):
        row = request_values(pk, requests[pk], logs.get(pk), now=now, medians=medians)
        if row is None:
            continue
        if defer_open and _is_open(row):
            deferred.append(pk)
        else:
            lines.append("\t".join([copy_value(row[name]) for name in _COPY_FIELDS]) + "\n")
    return lines, deferred


def _is_open(row: dict[str, Any]) -> bool:
    """Whether a row's forecast reads the baseline, and the baseline does not read the row: not
    ended, not delivered (the baseline is made of delivered rows: statistics.forecast_baseline)."""
    return row["ended_at"] is None and row["delivered_at"] is None


def _bulk_workers(count: int, workers: int | None) -> int:
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if count >= PARALLEL_THRESHOLD else 1
    return max(1, workers)


def materialise_requests_bulk(request_ids: Iterable[int], *, now: dt.datetime | None = None,
                              medians: dict[bool, dict[str, Any]] | None = None, workers: int | None = None) -> int:
    """``materialise_requests`` for many requests at once, on PostgreSQL (the history import).

    The same rows (``request_values``), computed from plain data by ``workers`` processes (by
    default one per core available, or none under ``PARALLEL_THRESHOLD`` requests) while this
    process reads the next batch of events and writes the finished ones: each batch's old rows
    deleted, its new ones written with COPY. Runs in the caller's transaction. Returns rows
    written."""
    return _materialise_bulk(request_ids, now=now, medians=medians, workers=workers, defer_open=False)[0]


def materialise_closed_bulk(request_ids: Iterable[int], *, now: dt.datetime | None = None,
                            workers: int | None = None) -> list[int]:
    """``materialise_requests_bulk`` for the rows that do not wait for the baseline (ended or
    delivered requests); the open requests' old rows are deleted and their ids returned, for
    ``materialise_requests_bulk`` once the baseline is refreshed (each row computed once)."""
    return _materialise_bulk(request_ids, now=now, medians=None, workers=workers, defer_open=True)[1]


def _materialise_bulk(request_ids: Iterable[int], *, now: dt.datetime | None,
                      medians: dict[bool, dict[str, Any]] | None, workers: int | None,
                      defer_open: bool) -> tuple[int, list[int]]:
    now = now or timezone.now()
    medians = baseline_medians() if medians is None else medians
    ids = sorted(set(request_ids))
    batches = [ids[start:start + BATCH] for start in range(0, len(ids), BATCH)]
    count = _bulk_workers(len(ids), workers)
    deferred: list[int] = []

    def write(batch: list[int], computed: tuple[list[str], list[int]]) -> int:
        lines, open_ids = computed
        deferred.extend(open_ids)
        RequestDelay.objects.filter(request_id__in=batch).delete()
        return pgcopy.copy_text(_COPY_SQL, lines) if lines else 0

    written = 0
    with transaction.atomic():
        if count == 1:
            for batch in batches:
                written += write(batch, _bulk_lines(_bulk_inputs(batch), now, medians, defer_open))
            return written, deferred
        # fork: the workers inherit the settings and compute only (they never touch the
        # database connection, which stays with this process).
        with multiprocessing.get_context("fork").Pool(count) as pool:
            pending: deque[tuple[list[int], AsyncResult[tuple[list[str], list[int]]]]] = deque()
            for batch in batches:
                pending.append((batch, pool.apply_async(_bulk_lines, (_bulk_inputs(batch), now, medians, defer_open))))
                if len(pending) > count:
                    done, result = pending.popleft()
                    written += write(done, result.get())
            while pending:
                done, result = pending.popleft()
                written += write(done, result.get())
    return written, deferred


# (request id, (requires_matching, CESREES opinion, route), its events as ``clock_log_rows``
# selects them) of a request the import has just written.
ImportedRequest = tuple[int, tuple[bool, str, str], list[tuple[int, str, str, str, dt.datetime, dict[str, Any]]]]


# Batches an import may leave to each worker before it waits for them (each holds a batch's events).
PENDING_PER_WORKER = 4


class ImportedDelays:
    """The delay rows of the requests an import creates, computed from the histories it holds
    in memory (no reading back of their events), chunk by chunk while the import goes on: the
    workers run the rules on one chunk while the import checks and writes the next. The rows
    that do not wait for the baseline are written by COPY as they come (the requests are new:
    no old rows to delete); ``finish`` returns the ids written and the open ones, whose rows
    wait for the refreshed baseline (delays/receivers.py). Runs in the import's transaction;
    ``discard`` stops the workers when it fails."""

    def __init__(self, *, now: dt.datetime | None = None, workers: int | None = None) -> None:
        self.now = now or timezone.now()
        self.medians = baseline_medians()
        self.workers = workers
        self.pool: Any = None
        self.count = 1
        self.pending: deque[tuple[list[int], AsyncResult[tuple[list[str], list[int]]]]] = deque()
        self.done: list[int] = []
        self.deferred: list[int] = []

    def add(self, requests: Sequence[ImportedRequest]) -> None:
        """Compute (in the workers, when there are enough) the rows of ``requests``, just written."""
        if self.pool is None and (self.workers or 0) != 1 and (self.workers or len(requests) >= BATCH):
            self.count = _bulk_workers(PARALLEL_THRESHOLD, self.workers)
            if self.count > 1:
                # fork, as materialise_requests_bulk: the workers never touch the connection.
                self.pool = multiprocessing.get_context("fork").Pool(self.count)
        for start in range(0, len(requests), BATCH):
            batch = requests[start:start + BATCH]
            inputs: _Inputs = ({pk: attributes for pk, attributes, _events in batch},
                               [event for _pk, _attributes, events in batch for event in events])
            ids = [pk for pk, _attributes, _events in batch]
            if self.pool is None:
                self._write(ids, _bulk_lines(inputs, self.now, self.medians, True))
                continue
            self.pending.append((ids, self.pool.apply_async(_bulk_lines, (inputs, self.now, self.medians, True))))
            # Write what is finished; wait only when the workers lag far behind (memory bound).
            while self.pending and (len(self.pending) > PENDING_PER_WORKER * self.count
                                    or self.pending[0][1].ready()):
                ids, result = self.pending.popleft()
                self._write(ids, result.get())

    def _write(self, ids: list[int], computed: tuple[list[str], list[int]]) -> None:
        lines, deferred = computed
        if lines:
            pgcopy.copy_text(_COPY_SQL, lines)
        self.done.extend(ids)
        self.deferred.extend(deferred)

    def finish(self) -> ImportedDelays:
        while self.pending:
            ids, result = self.pending.popleft()
            self._write(ids, result.get())
        self.discard()
        return self

    def discard(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
