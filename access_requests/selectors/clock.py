"""The event log as the statutory clocks read it (delays.rules works on plain data).

One reading for everything that needs a request's legal clock: the delay materialisation,
the extension check of the services and the history import. Each gets the transitions
``(to_state, at)`` and the ``ClockFacts`` (extensions, information-request reasons, urgent
CESREES entries, route, CESREES opinion) from here, and the deployment's ``ClockPolicy``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from access_requests.models import AccessRequest, Event
from access_requests.workflow import EXPRESSLY_FAVOURABLE_OPINIONS, EventAction, Route, State
from delays import rules

Transition = tuple[str, dt.datetime]


def clock_policy() -> rules.ClockPolicy:
    """The deployment's counting rules, from the settings (HDH_CLOCK_RESUME_POLICY, ...)."""
    return rules.ClockPolicy(
        resume=tuple(sorted(settings.HDH_CLOCK_RESUME_POLICY.items())),
        subdiv=settings.HDH_HOLIDAYS_SUBDIV,
        cnil_silence_is_authorisation_always=settings.HDH_CNIL_SILENCE_ALWAYS_AUTHORISES,
    )


@dataclass
class ClockLog:
    """One request's log, as the clocks read it."""

    transitions: list[Transition] = field(default_factory=list)
    extensions: list[dt.datetime] = field(default_factory=list)
    reasons: dict[dt.datetime, str] = field(default_factory=dict)
    urgent_entries: set[dt.datetime] = field(default_factory=set)

    def add(self, *, from_state: str, to_state: str, action: str, at: dt.datetime, payload: Mapping[str, Any]) -> None:
        """Read one event (in the log's order)."""
        if action == EventAction.EXTEND_REVIEW:
            self.extensions.append(at)
            return
        if from_state == to_state:
            return  # no change of state (an assignment)
        self.transitions.append((to_state, at))
        if to_state == State.AWAITING_APPLICANT and payload.get("reason") in rules.INFORMATION_REASONS:
            self.reasons[at] = payload["reason"]
        if to_state == State.CESREES_REVIEW and payload.get("urgent") is True:
            self.urgent_entries.add(at)

    def facts(self, *, route: str, cesrees_opinion: str) -> rules.ClockFacts:
        return rules.ClockFacts(
            extensions=tuple(self.extensions), reasons=dict(self.reasons),
            urgent_entries=frozenset(self.urgent_entries), simplified=route == Route.SIMPLIFIED,
            cesrees_expressly_favourable=cesrees_opinion in EXPRESSLY_FAVOURABLE_OPINIONS,
        )


STREAM_ABOVE = 100  # requests: above, clock_logs streams their events


def clock_logs(request_ids: Iterable[int], *, until: dt.datetime | None = None) -> dict[int, ClockLog]:
    """Each request's clock log (its events up to ``until`` when given), in one query."""
    ids = list(request_ids)
    rows = Event.objects.filter(request_id__in=ids)
    if until is not None:
        rows = rows.filter(at__lte=until)
    logged = clock_log_rows(rows)
    # A few requests' events (a page, the recompute after a transition) in one plain query; many
    # requests' streamed (on PostgreSQL a server-side cursor: DECLARE, FETCH, CLOSE, the result
    # kept by the server: three round trips that a few dozen rows do not need).
    return clock_logs_of(logged if len(ids) <= STREAM_ABOVE else logged.iterator(chunk_size=10000))


def clock_log_rows(events: QuerySet[Event]) -> QuerySet[Event, tuple[Any, ...]]:
    """The columns a clock log reads, in the log's order: what ``clock_logs_of`` takes."""
    return events.order_by("request_id", "at", "id").values_list(
        "request_id", "from_state", "to_state", "action", "at", "payload")


def clock_logs_of(rows: Iterable[tuple[int, str, str, str, dt.datetime, Any]]) -> dict[int, ClockLog]:
    """Each request's clock log from the rows of ``clock_log_rows`` (plain data: the bulk delay
    materialisation builds them in worker processes). A payload may come as JSON text."""
    logs: dict[int, ClockLog] = defaultdict(ClockLog)
    for request_id, from_state, to_state, action, at, payload in rows:
        if isinstance(payload, str):
            payload = json.loads(payload)
        logs[request_id].add(from_state=from_state, to_state=to_state, action=action, at=at, payload=payload or {})
    return logs


def visit_statutes(transitions: Sequence[Transition], facts: rules.ClockFacts, *, at: dt.datetime,
                   requires_matching: bool = False) -> list[rules.VisitStatute]:
    """The visits of a log with their legal clocks, as of ``at``."""
    result = rules.compute_delay(transitions, requires_matching=requires_matching, as_of=at)
    if result is None:
        return []
    return rules.statutory_visits(result.stage_visits, facts, policy=clock_policy(), until=at)


def open_visit(request: AccessRequest, at: dt.datetime) -> rules.VisitStatute | None:
    """The visit ``request`` is in at ``at`` with its legal clock (None when not submitted)."""
    log = clock_logs([request.pk], until=at).get(request.pk) or ClockLog()
    statutes = visit_statutes(log.transitions, log.facts(route=request.route, cesrees_opinion=request.cesrees_opinion),
                              at=at)
    if not statutes or statutes[-1].left_at is not None:
        return None
    return statutes[-1]
