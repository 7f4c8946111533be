"""A request's clock as of an instant: the one place every screen, report and email reads it.

``request_clock`` gives one request's delay figures and its per-visit statutory clocks (due
date, overdue flag, tacit decision) at an explicit instant; ``clocks_as_of`` does the same
for many requests at once (the delay report). Both read the materialised RequestDelay row
when it holds the request's last event by that instant (the open stay then grows linearly
up to the instant) and otherwise recompute the row from the events up to the instant (a
report replayed in the past, or a page read inside a transition before its recompute).

The portal, the back office, ``delay_report``, the dashboard's lists and the emails ask
this module; none of them re-computes a clock.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, Literal

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from access_requests.models import AccessRequest
from access_requests.selectors.clock import clock_policy
from access_requests.workflow import State
from delays import rules
from delays.materialise import build_rows, forecast_path, shown_baseline_medians
from delays.models import STAGE_FIELDS, RequestDelay
from delays.statistics import route_medians
from hdh_access.lib.dates import paris_date

SECONDS_PER_DAY = 86400
# What the administration's silence decides once a period runs out (rules.TACIT_*), as pages say it.
TACIT_LABELS = {rules.TACIT_FAVOURABLE_OPINION: gettext_lazy("avis favorable"),
                rules.TACIT_AUTHORISATION: gettext_lazy("autorisation")}
Medians = Mapping[bool, Mapping[str, Any]]  # requires_matching -> its forecast baseline (statistics.forecast_baseline)

# The RequestDelay values a clock is evaluated from (with the request's reference and route).
ROW_FIELDS = (
    "request_id", "request__reference", "request__route", "state", "requires_matching", "submitted_at",
    "delivered_at", "ended_at", "last_event_at", "deadline", "elapsed_days", "applicant_days", "current_stage",
    "current_since", "paused_stage", "current_due_date", "target_met", "status", "forecast_at", "visits",
    "computed_at", *STAGE_FIELDS.values(),
)


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class VisitClock:
    """One stay in a stage with its legal clock, as read at the clock's instant.

    ``paused_days``: the whole Paris days of the pause that interrupted this visit (the
    information request's ``reason`` with it); ``projected``: the tacit date is the one the
    visit's silence would take effect on, its period still running.
    """

    stage: str
    entered_at: dt.datetime
    left_at: dt.datetime | None  # None: still open at the instant
    days: float
    due_date: dt.date | None  # None: the stage has no legal clock
    extended: bool
    urgent: bool
    reason: str
    paused_days: int
    overdue: bool
    tacit_decision: str | None
    tacit_effect_date: dt.date | None
    projected: bool

    @property
    def is_open(self) -> bool:
        return self.left_at is None

    @property
    def is_pause(self) -> bool:
        """A wait on the applicant (the clock of the stage it interrupted is suspended)."""
        return self.stage == rules.AWAITING_APPLICANT

    @property
    def tacit_label(self) -> str:
        """The tacit decision in words ("avis favorable", "autorisation"); empty when none."""
        return str(TACIT_LABELS.get(self.tacit_decision, self.tacit_decision)) if self.tacit_decision else ""


def visit_clock(visit: Mapping[str, Any], at: dt.datetime, *, following: Mapping[str, Any] | None = None) -> VisitClock:
    """A materialised visit (``RequestDelay.visits`` item) read at ``at``; ``following`` is
    the next visit (a pause that interrupted this one gives its paused days)."""
    entered, left = _instant(visit["start"]), _instant(visit.get("end"))
    assert entered is not None
    if left is not None and left > at:
        left = None  # a visit that ends after the instant asked is still open then
    days = float(visit.get("days") or 0.0) if left is not None else max((at - entered).total_seconds() / SECONDS_PER_DAY, 0.0)
    due = _date(visit.get("due_date"))
    reading = rules.read_visit(due, visit.get("silence"), left, at)
    pause = 0
    if visit["stage"] == rules.AWAITING_APPLICANT:
        pause = rules.paused_days(entered, left, at)
    elif following is not None and following["stage"] == rules.AWAITING_APPLICANT and left is not None:
        started = _instant(following["start"])
        assert started is not None
        if started <= at:
            pause = rules.paused_days(started, _instant(following.get("end")), at)
    return VisitClock(
        stage=visit["stage"], entered_at=entered, left_at=left, days=days, due_date=due,
        extended=bool(visit.get("extended")), urgent=bool(visit.get("urgent")), reason=visit.get("reason") or "",
        paused_days=pause, overdue=reading.overdue, tacit_decision=reading.tacit_decision,
        tacit_effect_date=reading.tacit_effect_date, projected=reading.projected,
    )


@dataclass(frozen=True)
class RequestClock:
    """A request's delay figures at the instant ``at`` (after its submission)."""

    at: dt.datetime
    request_id: int
    reference: str
    state: str
    route: str
    requires_matching: bool
    submitted_at: dt.datetime
    delivered_at: dt.datetime | None
    ended_at: dt.datetime | None
    deadline: dt.date
    elapsed_days: float
    applicant_days: float
    stage_days: dict[str, float]
    target_met: bool | None
    status: str
    forecast_at: dt.datetime | None
    current_stage: str
    current_since: dt.datetime | None
    paused_stage: str
    current_due_date: dt.date | None
    computed_at: dt.datetime
    raw_visits: Sequence[Mapping[str, Any]] = field(repr=False)
    #: The forecast comes from enough delivered requests to be shown (rule 6); False once ended.
    forecast_known: bool = False

    @cached_property
    def visits(self) -> tuple[VisitClock, ...]:
        """Every stage visit in the order it happened (the event log's), the waits on the
        applicant between the visits they interrupted, evaluated at ``at``."""
        raw = self.raw_visits
        return tuple(
            visit_clock(visit, self.at, following=raw[index + 1] if index + 1 < len(raw) else None)
            for index, visit in enumerate(raw)
        )

    def time_by_stage(self) -> list[tuple[str, float]]:
        """Days spent in each stage (its visits summed, the waits on the applicant as one more
        stage), in the order the stages were first entered: the request's story, not the
        pathway's table."""
        totals: dict[str, float] = {}
        for visit in self.visits:
            totals[visit.stage] = totals.get(visit.stage, 0.0) + visit.days
        return list(totals.items())

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def institution_days(self) -> float:
        return max(self.elapsed_days - self.applicant_days, 0.0)

    @property
    def today(self) -> dt.date:
        """The Paris date of the instant."""
        return paris_date(self.at)

    @property
    def days_left(self) -> int | None:
        """Days until the 7-month deadline (negative once past it); None once ended."""
        return (self.deadline - self.today).days if self.is_open else None

    @property
    def days_overdue(self) -> int:
        left = self.days_left
        return -left if left is not None and left < 0 else 0

    @property
    def current_visit(self) -> VisitClock | None:
        """The open visit, if the request is open."""
        if not self.is_open or not self.raw_visits:
            return None
        last = self.visits[-1]
        return last if last.is_open else None

    def periods_ahead(self) -> tuple[rules.ExpectedPeriod, ...]:
        """The legal periods of the stages still ahead on the request's route, each dated as if
        every stage before it used its whole period, starting from the open stage's due date
        (rules.expected_periods: the receipt's dates). Empty when the open stage has no legal
        clock, or while the request waits on the applicant (the clock is suspended)."""
        visit = self.current_visit
        if visit is None or visit.due_date is None:
            return ()
        path = forecast_path(self.route)
        ahead = path[path.index(visit.stage) + 1:] if visit.stage in path else ()
        return tuple(rules.expected_periods(ahead, visit.due_date, policy=clock_policy()))


def _open_stay(row: Mapping[str, Any], at: dt.datetime, medians: Mapping[str, float], known: bool
               ) -> tuple[dict[str, float], float, float, dt.datetime | None, str]:
    """A row's stage days, elapsed and applicant days, forecast and status at ``at``: an open
    stay grown from ``computed_at`` to ``at`` and forecast with the route's ``medians``."""
    stage_days = {stage: float(row[name]) for stage, name in STAGE_FIELDS.items()}
    elapsed, applicant = float(row["elapsed_days"]), float(row["applicant_days"])
    status, forecast = row["status"], row["forecast_at"]
    if row["ended_at"] is None:
        delta = (at - row["computed_at"]).total_seconds() / SECONDS_PER_DAY
        current = row["current_stage"]
        stage_days[current] += delta
        elapsed += delta
        if current == rules.AWAITING_APPLICANT:
            applicant += delta
        forecast = rules.forecast_open_stay(
            current_stage=current, current_since=row["current_since"], paused_stage=row["paused_stage"],
            stage_days=stage_days, requires_matching=row["requires_matching"], as_of=at, medians=medians,
            path=forecast_path(row["request__route"]),
        )
        status = rules.open_status(at, deadline=row["deadline"], forecast_at=forecast, enough_history=known)
    return stage_days, elapsed, applicant, forecast, status


def evaluate_row(row: Mapping[str, Any], at: dt.datetime, *, medians: Mapping[str, Any]) -> RequestClock:
    """The clock at ``at`` of a materialised row (its values, ROW_FIELDS) whose last event
    is no later than ``at``: the open stay grows from ``computed_at`` to ``at``. ``medians``:
    the row's population baseline, read for the row's route."""
    medians = route_medians(medians, row["request__route"])
    known = row["ended_at"] is None and rules.enough_history(medians)
    stage_days, elapsed, applicant, forecast, status = _open_stay(row, at, medians, known)
    return RequestClock(
        at=at, request_id=row["request_id"], reference=row["request__reference"], state=row["state"],
        route=row["request__route"], requires_matching=row["requires_matching"], submitted_at=row["submitted_at"],
        delivered_at=row["delivered_at"], ended_at=row["ended_at"], deadline=row["deadline"],
        elapsed_days=elapsed, applicant_days=applicant, stage_days=stage_days, target_met=row["target_met"],
        status=status, forecast_at=forecast, current_stage=row["current_stage"],
        current_since=row["current_since"], paused_stage=row["paused_stage"],
        current_due_date=row["current_due_date"], computed_at=row["computed_at"], raw_visits=row["visits"],
        forecast_known=known,
    )


def _values(delay: RequestDelay, reference: str, route: str) -> dict[str, Any]:
    values = {name: getattr(delay, name) for name in ROW_FIELDS if "__" not in name}
    values.update({"request__reference": reference, "request__route": route})
    return values


def _replayed(request_ids: Sequence[int], at: dt.datetime, medians: Medians) -> dict[int, RequestClock]:
    """Clocks recomputed from the events up to ``at``."""
    rows, _empty = build_rows(request_ids, now=at, medians={k: dict(v) for k, v in medians.items()}, until=at)
    info = dict(
        (pk, (reference, route))
        for pk, reference, route in AccessRequest.objects.filter(pk__in=[r.request_id for r in rows])
        .values_list("pk", "reference", "route")
    )
    return {
        row.request_id: evaluate_row(_values(row, *info[row.request_id]), at, medians=medians.get(row.requires_matching, {}))
        for row in rows
    }


def clocks_as_of(rows: Iterable[Mapping[str, Any]], at: dt.datetime, *, medians: Medians) -> list[RequestClock]:
    """The clocks at ``at`` of the requests whose RequestDelay values (ROW_FIELDS) are
    ``rows``, in the same order; a row updated by an event after ``at`` is replayed from
    the events up to ``at`` (dropped if the request was not submitted by then)."""
    clocks: list[RequestClock | int] = []
    replay = []
    for row in rows:
        if row["last_event_at"] <= at:
            clocks.append(evaluate_row(row, at, medians=medians.get(row["requires_matching"], {})))
        else:
            clocks.append(row["request_id"])
            replay.append(row["request_id"])
    replayed = _replayed(replay, at, medians) if replay else {}
    out = []
    for item in clocks:
        if isinstance(item, RequestClock):
            out.append(item)
        elif item in replayed:
            out.append(replayed[item])
    return out


#: What a status at an instant is computed from (``statuses_as_of``).
STATUS_FIELDS = ("request_id", "request__route", "requires_matching", "last_event_at", "ended_at", "deadline",
                 "elapsed_days", "applicant_days", "current_stage", "current_since", "paused_stage", "status",
                 "forecast_at", "computed_at", *STAGE_FIELDS.values())


def statuses_as_of(rows: QuerySet[RequestDelay], at: dt.datetime, *, medians: Medians) -> Counter[str]:
    """How many of ``rows`` (RequestDelay rows of requests open at ``at``) are in each target
    status at ``at``, as their clocks (``evaluate_row``) say: those past their deadline are late
    (``rules.is_late``) without a forecast computed; rows with an event after ``at`` are replayed.
    Two queries, and the replay's."""
    counts: Counter[str] = Counter()
    by_route: dict[tuple[bool, str], tuple[dict[str, float], bool]] = {}
    replay = []
    for row in rows.values(*STATUS_FIELDS).iterator(chunk_size=5000):
        if row["last_event_at"] > at:
            replay.append(row["request_id"])
            continue
        if row["ended_at"] is not None:
            continue
        if rules.is_late(at, row["deadline"]):
            counts[rules.STATUS_LATE] += 1
            continue
        key = (row["requires_matching"], row["request__route"])
        if key not in by_route:
            route = route_medians(medians.get(key[0], {}), key[1])
            by_route[key] = (route, rules.enough_history(route))
        route, known = by_route[key]
        counts[_open_stay(row, at, route, known)[4]] += 1
    if replay:
        values = RequestDelay.objects.filter(request_id__in=replay).values(*ROW_FIELDS)
        for clock in clocks_as_of(values.iterator(chunk_size=5000), at, medians=medians):
            if clock.is_open:
                counts[clock.status] += 1
    return counts


class _Replay(enum.Enum):
    """What ``_usable_row`` says when the request's materialised row cannot answer: replay its events."""

    NEEDED = "replay"


_REPLAY: Final = _Replay.NEEDED


def _usable_row(access_request: AccessRequest, at: dt.datetime, *,
                fresh: bool) -> RequestDelay | None | Literal[_Replay.NEEDED]:
    """The materialised row of ``access_request`` when it holds its current state and its last
    event by ``at``; None for a draft never submitted; ``_REPLAY`` when the row is missing or
    behind, or with ``fresh``."""
    delay = None
    if not fresh:
        try:
            delay = access_request.delay
        except RequestDelay.DoesNotExist:
            if access_request.state == State.DRAFT:
                return None  # never submitted (a draft sent back after submission keeps its row)
    if delay is not None and delay.state == access_request.state and delay.last_event_at <= at:
        return delay
    return _REPLAY


def request_clock(access_request: AccessRequest, at: dt.datetime, *, medians: Medians | None = None,
                  fresh: bool = False) -> RequestClock | None:
    """The clock of ``access_request`` at ``at`` (None before its submission).

    From its materialised row when the row holds its current state and last event by
    ``at``; from its events otherwise, or always with ``fresh`` (inside a transition's
    transaction, before the after-commit recompute). ``medians`` default to the stored
    forecast baseline (not read for a draft).
    """
    return request_clocks([access_request], at, medians=medians, fresh=fresh).get(access_request.pk)


def request_clocks(access_requests: Iterable[AccessRequest], at: dt.datetime, *,
                   medians: Medians | None = None, fresh: bool = False) -> dict[int, RequestClock]:
    """The clocks of ``access_requests`` at ``at`` by request id, each as ``request_clock`` says
    (none for a request never submitted); those whose row lags (a transition whose recompute the
    worker has not run yet) are replayed together, in the queries of one replay."""
    current: list[tuple[AccessRequest, RequestDelay]] = []
    replay: list[int] = []
    for access_request in access_requests:
        row = _usable_row(access_request, at, fresh=fresh)
        if row is _REPLAY:
            replay.append(access_request.pk)
        elif row is not None:
            current.append((access_request, row))
    if not current and not replay:
        return {}  # drafts only: no baseline to read
    if medians is None:
        medians = shown_baseline_medians()
    clocks = {access_request.pk: evaluate_row(_values(delay, access_request.reference, access_request.route), at,
                                              medians=medians.get(delay.requires_matching, {}))
              for access_request, delay in current}
    if replay:
        clocks.update(_replayed(replay, at, medians))
    return clocks
