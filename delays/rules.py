"""Delay rules for access requests: pure computation on plain data.

This module is deliberately free of Django (no ORM, no settings) so that the
rules can be tested with plain tuples. Callers load a request's event log,
turn it into ``(to_state, at)`` pairs and call :func:`compute_delay`.

What the rules measure (see docs DOMAIN.md):

* the clock starts at the **first** entry into ``submitted`` and stops at the
  first entry into ``delivered`` (data available), or at the first
  ``rejected`` / ``withdrawn`` / ``closed`` event for a dossier that ended
  without delivery; an open dossier is measured up to ``as_of``;
* elapsed time is split per stage, and the time spent waiting on the
  applicant (``awaiting_applicant``) is reported apart, so that it is never
  counted as institution time;
* the target is a number of calendar months counted from the Paris calendar
  date of submission (CPC art. 641), not a number of days;
* statutory clocks (completeness, CESREES, CNIL) give a due date per stage
  visit and, separately, the date a tacit decision takes effect.

Durations are exact elapsed time (seconds / 86400), so a stage spanning a
daylight-saving night is one hour shorter or longer than its wall-clock span.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict

from hdh_access.lib.dates import add_months, add_working_days, days_between, paris_date, roll_to_working_day

# --- State codes (must match the model's TextChoices values) ---------------

DRAFT = "draft"
SUBMITTED = "submitted"
AWAITING_APPLICANT = "awaiting_applicant"
CESREES_REVIEW = "cesrees_review"
CNIL_REVIEW = "cnil_review"
CONTRACTING = "contracting"
MATCHING = "matching"
EXTRACTION = "extraction"
DELIVERED = "delivered"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
CLOSED = "closed"

STATES: tuple[str, ...] = (
    DRAFT,
    SUBMITTED,
    AWAITING_APPLICANT,
    CESREES_REVIEW,
    CNIL_REVIEW,
    CONTRACTING,
    MATCHING,
    EXTRACTION,
    DELIVERED,
    REJECTED,
    WITHDRAWN,
    CLOSED,
)

#: States whose time is "stage time", in reporting order.
STAGES: tuple[str, ...] = (
    SUBMITTED,
    CESREES_REVIEW,
    CNIL_REVIEW,
    CONTRACTING,
    MATCHING,
    EXTRACTION,
    AWAITING_APPLICANT,
)

#: The standard route, used to forecast the stages still ahead. Matching is
#: skipped for requests that do not need it.
STANDARD_PATH: tuple[str, ...] = (
    SUBMITTED,
    CESREES_REVIEW,
    CNIL_REVIEW,
    CONTRACTING,
    MATCHING,
    EXTRACTION,
)

#: The first entry into any of these stops the delay clock.
ENDING_STATES: frozenset[str] = frozenset({DELIVERED, REJECTED, WITHDRAWN, CLOSED})

# --- Statuses ---------------------------------------------------------------

STATUS_MET = "met"
STATUS_MISSED = "missed"
STATUS_CLOSED = "closed"
STATUS_LATE = "late"
STATUS_AT_RISK = "at_risk"
STATUS_ON_TRACK = "on_track"

STATUSES: tuple[str, ...] = (
    STATUS_MET,
    STATUS_MISSED,
    STATUS_CLOSED,
    STATUS_LATE,
    STATUS_AT_RISK,
    STATUS_ON_TRACK,
)

#: Default target: the HDH 2023-2025 roadmap aims at 7 months for projects
#: that need matching.
DEFAULT_TARGET_MONTHS = 7

#: "At risk" needs a forecast computed from at least this many delivered requests (rule 6);
#: with fewer, the forecast is shown as not yet known and the request stays on track.
MIN_FORECAST_HISTORY = 20
#: The key of a forecast baseline (the ``medians`` mapping) that holds how many delivered
#: requests its medians come from. Not a stage name, so a stage lookup never reads it.
HISTORY_KEY = "delivered_requests"

# --- Tacit decisions --------------------------------------------------------

TACIT_FAVOURABLE_OPINION = "favourable_opinion"
TACIT_AUTHORISATION = "authorisation"

_SECONDS_PER_DAY = 86400

Event = tuple[str, datetime]


# --- Results ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageVisit:
    """One continuous stay in a stage.

    Consecutive events into the same state are merged into one visit (a
    repeated event does not start a new stay). ``end`` is None for the
    visit still open at ``as_of``; ``days`` then runs up to ``as_of``.
    """

    stage: str
    start: datetime
    end: datetime | None
    days: float


@dataclass(frozen=True, slots=True)
class ComputedDelay:
    """Everything the delay reports need about one submitted request.

    ``ended_at`` is the instant the clock stopped: ``delivered_at`` for a
    delivered request, the rejected/withdrawn/closed event otherwise, None
    while the request is open. ``current_state`` is the state as of
    ``as_of`` (e.g. ``closed`` after delivery), whereas the measures stop at
    ``ended_at``.
    """

    submitted_at: datetime
    delivered_at: datetime | None
    ended_at: datetime | None
    deadline: date
    elapsed_days: float
    applicant_days: float
    institution_days: float
    stage_days: dict[str, float]
    stage_visits: list[StageVisit]
    current_state: str
    target_met: bool | None
    status: str
    forecast_at: datetime | None


# --- Validation helpers -----------------------------------------------------


def _require_aware(dt: datetime, name: str) -> None:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt!r}")


def _validated(events: Iterable[Event]) -> list[Event]:
    """Check states, awareness and order; return the events as a list.

    Equal instants are accepted (two transitions in the same transaction),
    going back in time is not: the caller must sort by ``at``.
    """
    checked: list[Event] = []
    previous: datetime | None = None
    for index, (state, at) in enumerate(events):
        if state not in STATES:
            raise ValueError(f"event {index}: unknown state {state!r}")
        _require_aware(at, f"event {index} instant")
        if previous is not None and at < previous:
            raise ValueError(f"event {index}: events must be sorted by instant")
        previous = at
        checked.append((state, at))
    return checked


def _elapsed(start: datetime, end: datetime) -> timedelta:
    # Through UTC: same-tzinfo subtraction ignores DST transitions.
    return end.astimezone(UTC) - start.astimezone(UTC)


# --- The delay computation --------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Segment:
    state: str
    start: datetime
    end: datetime | None  # None: still open at as_of
    duration: timedelta


def _segments(run: list[Event], as_of: datetime) -> list[_Segment]:
    """Cut the measured run of events into maximal same-state segments.

    ``run`` starts at the first submission and, when the request ended,
    finishes with the ending event, which opens no segment.
    """
    segments: list[_Segment] = []
    for index, (state, start) in enumerate(run):
        if state in ENDING_STATES:
            break
        end = run[index + 1][1] if index + 1 < len(run) else None
        if segments and segments[-1].state == state:
            # Repeated event into the same state: extend the current stay.
            previous = segments[-1]
            segments[-1] = _Segment(
                state,
                previous.start,
                end,
                _elapsed(previous.start, end if end is not None else as_of),
            )
            continue
        segments.append(_Segment(state, start, end, _elapsed(start, end if end is not None else as_of)))
    return segments


def _forecast(
    segments: list[_Segment],
    totals: Mapping[str, timedelta],
    *,
    requires_matching: bool,
    as_of: datetime,
    medians: Mapping[str, float],
    path: Sequence[str],
) -> datetime:
    """Projected delivery instant of an open request.

    remaining = max(0, median(anchor) - total time already spent in the
    anchor stage over all visits) + medians of the ``path`` stages after the
    anchor (matching only when required). The anchor is the
    current stage; while the request waits on the applicant it is the stage
    the request was paused from, and max(0, median(awaiting_applicant) - time
    in this pause) is added.
    """

    def median(stage: str) -> float:
        return float(medians.get(stage) or 0.0)

    current = segments[-1]
    anchor = next(s.state for s in reversed(segments) if s.state in STANDARD_PATH)
    spent = totals.get(anchor, timedelta()).total_seconds() / _SECONDS_PER_DAY
    remaining = max(0.0, median(anchor) - spent)
    if current.state == AWAITING_APPLICANT:
        paused = current.duration.total_seconds() / _SECONDS_PER_DAY
        remaining += max(0.0, median(AWAITING_APPLICANT) - paused)
    anchor_rank = STANDARD_PATH.index(anchor)
    for stage in path:
        if STANDARD_PATH.index(stage) <= anchor_rank:
            continue
        if stage == MATCHING and not requires_matching:
            continue
        remaining += median(stage)
    # Through UTC: adding a timedelta to a Paris datetime is wall-clock arithmetic across DST.
    return as_of.astimezone(UTC) + timedelta(days=remaining)


def enough_history(medians: Mapping[str, float] | None) -> bool:
    """Whether a forecast baseline comes from enough delivered requests to say "at risk"."""
    if not medians:
        return False
    return float(medians.get(HISTORY_KEY) or 0) >= MIN_FORECAST_HISTORY


def is_late(as_of: datetime, deadline: date) -> bool:
    """An open request is late once ``as_of``'s Paris date is after its deadline."""
    return paris_date(as_of) > deadline


def open_status(as_of: datetime, *, deadline: date, forecast_at: datetime, enough_history: bool) -> str:
    """The target status of a request still open at ``as_of``.

    Past its deadline it is late (whatever the history). Otherwise it is at risk only when
    the forecast, computed from ``enough_history`` (at least MIN_FORECAST_HISTORY delivered
    requests), falls after the deadline.
    """
    if is_late(as_of, deadline):
        return STATUS_LATE
    if enough_history and paris_date(forecast_at) > deadline:
        return STATUS_AT_RISK
    return STATUS_ON_TRACK


def forecast_open_stay(
    *,
    current_stage: str,
    current_since: datetime,
    paused_stage: str,
    stage_days: Mapping[str, float],
    requires_matching: bool,
    as_of: datetime,
    medians: Mapping[str, float],
    path: Sequence[str] = STANDARD_PATH,
) -> datetime:
    """The forecast of ``compute_delay`` from a request's open stay and its stage totals.

    For an evaluation after the last event without replaying the events: the open stay
    started at ``current_since`` in ``current_stage`` (paused from ``paused_stage`` while
    the request waits on the applicant); ``stage_days`` are the totals as of ``as_of``.
    """
    _require_aware(as_of, "as_of")
    segments = []
    if paused_stage:
        segments.append(_Segment(paused_stage, current_since, current_since, timedelta()))
    segments.append(_Segment(current_stage, current_since, None, _elapsed(current_since, as_of)))
    totals = {stage: timedelta(days=days) for stage, days in stage_days.items()}
    return _forecast(segments, totals, requires_matching=requires_matching, as_of=as_of, medians=medians, path=path)


def compute_delay(
    events: Iterable[Event],
    *,
    requires_matching: bool,
    as_of: datetime,
    medians: Mapping[str, float] | None = None,
    target_months: int = DEFAULT_TARGET_MONTHS,
    path: Sequence[str] = STANDARD_PATH,
) -> ComputedDelay | None:
    """Compute the delay measures of one request as of ``as_of``.

    ``events`` are ``(to_state, at)`` pairs sorted by ``at``; events after
    ``as_of`` are ignored so that a report can be replayed as of a past date.
    Returns None for a request not submitted as of ``as_of``.

    ``medians`` maps stage -> median days (from delivered requests of the
    same population) and only feeds the forecast; a missing stage counts 0.
    ``path`` is the route the forecast follows: the standard route by
    default; pass e.g. ``(SUBMITTED, CONTRACTING, EXTRACTION)`` for a route
    without CESREES/CNIL review (it must keep the standard-route order).
    Status and target are computed for every request, although they are only
    meaningful for the target population (``requires_matching``).
    """
    _require_aware(as_of, "as_of")
    unknown = [stage for stage in path if stage not in STANDARD_PATH]
    if unknown:
        raise ValueError(f"path stages must come from STANDARD_PATH, got {unknown}")
    timeline = [event for event in _validated(events) if event[1] <= as_of]
    first_submission = next((index for index, (state, _) in enumerate(timeline) if state == SUBMITTED), None)
    if first_submission is None:
        return None
    current_state = timeline[-1][0]
    submitted_at = timeline[first_submission][1]

    # The measured run: from the first submission to the first ending event.
    # Anything after that (closed after delivery, a re-opening) is not delay.
    run: list[Event] = []
    ended_at: datetime | None = None
    ending_state: str | None = None
    for state, at in timeline[first_submission:]:
        run.append((state, at))
        if state in ENDING_STATES:
            ended_at, ending_state = at, state
            break
    delivered_at = ended_at if ending_state == DELIVERED else None

    segments = _segments(run, as_of)
    totals: dict[str, timedelta] = {stage: timedelta() for stage in STAGES}
    visits: list[StageVisit] = []
    for segment in segments:
        if segment.state not in totals:
            continue  # draft after a return to draft: a gap, not stage time
        totals[segment.state] += segment.duration
        visits.append(
            StageVisit(
                segment.state,
                segment.start,
                segment.end,
                segment.duration.total_seconds() / _SECONDS_PER_DAY,
            )
        )
    stage_days = {stage: totals[stage].total_seconds() / _SECONDS_PER_DAY for stage in STAGES}

    elapsed_days = days_between(submitted_at, ended_at if ended_at is not None else as_of)
    applicant_days = stage_days[AWAITING_APPLICANT]
    deadline = add_months(paris_date(submitted_at), target_months)

    target_met: bool | None = None
    forecast_at: datetime | None = None
    if delivered_at is not None:
        # Within the target: delivered by the deadline once the applicant's time is taken off.
        applicant_time = totals[AWAITING_APPLICANT]
        target_met = paris_date(delivered_at.astimezone(UTC) - applicant_time) <= deadline
        status = STATUS_MET if target_met else STATUS_MISSED
    elif ended_at is not None:
        status = STATUS_CLOSED
    else:
        forecast_at = _forecast(
            segments,
            totals,
            requires_matching=requires_matching,
            as_of=as_of,
            medians=medians or {},
            path=path,
        )
        status = open_status(as_of, deadline=deadline, forecast_at=forecast_at,
                             enough_history=enough_history(medians))

    return ComputedDelay(
        submitted_at=submitted_at,
        delivered_at=delivered_at,
        ended_at=ended_at,
        deadline=deadline,
        elapsed_days=elapsed_days,
        applicant_days=applicant_days,
        institution_days=elapsed_days - applicant_days,
        stage_days=stage_days,
        stage_visits=visits,
        current_state=current_state,
        target_met=target_met,
        status=status,
        forecast_at=forecast_at,
    )


# --- Aggregates (Python side; PostgreSQL computes them in SQL) --------------


def percentile_cont(values: Iterable[float | None], q: float) -> float | None:
    """PostgreSQL's ``percentile_cont(q) WITHIN GROUP (ORDER BY v)``.

    Linear interpolation at position q * (n - 1) of the sorted values,
    computed like PostgreSQL's float8 lerp (lo + frac * (hi - lo)). None
    values are skipped, as SQL aggregates skip NULLs; None for no values.
    """
    data = sorted(float(v) for v in values if v is not None)
    if not data:
        return None
    first, fraction = percentile_position(len(data), q)
    return interpolate(data[first], data[first + 1] if fraction else None, fraction)


def percentile_position(n: int, q: float) -> tuple[int, float]:
    """Where ``percentile_cont(q)`` reads among ``n`` sorted values (n > 0): the 0-based rank
    of the first value, and the fraction of the way to the next one (0.0: that value alone)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    position = q * (n - 1)
    first = math.floor(position)
    return first, (position - first) if math.ceil(position) != first else 0.0


def interpolate(first: float, second: float | None, fraction: float) -> float:
    """``percentile_cont``'s value from the values at ``percentile_position``: PostgreSQL's
    float8 lerp (lo + frac * (hi - lo))."""
    if not fraction or second is None:
        return first
    return first + fraction * (second - first)


class StageStats(TypedDict):
    """Statistics of one stage over the requests that spent time in it."""

    count: int
    mean_days: float | None
    median_days: float | None
    p90_days: float | None


def stage_statistics(
    rows: Iterable[Mapping[str, float]],
    *,
    stages: Sequence[str] = STAGES,
) -> dict[str, StageStats]:
    """Per-stage count, mean, median and 90th percentile of days.

    Each row maps stage -> days for one request (e.g. ``ComputedDelay.stage_days``).
    A request counts for a stage only when it spent time (> 0) there, so a
    request that skipped matching does not drag the matching median to 0.
    Every stage of ``stages`` is in the result; statistics of a stage nobody
    visited are None with count 0.
    """
    per_stage: dict[str, list[float]] = {stage: [] for stage in stages}
    for row in rows:
        for stage in stages:
            days = row.get(stage)
            if days is not None and days > 0:
                per_stage[stage].append(float(days))
    result: dict[str, StageStats] = {}
    for stage, values in per_stage.items():
        result[stage] = StageStats(
            count=len(values),
            mean_days=math.fsum(values) / len(values) if values else None,
            median_days=percentile_cont(values, 0.5),
            p90_days=percentile_cont(values, 0.9),
        )
    return result


def stage_medians(stats: Mapping[str, StageStats], *, delivered: int) -> dict[str, float]:
    """The ``medians`` argument of :func:`compute_delay` (the forecast baseline) from the stage
    statistics of ``delivered`` delivered requests; the count is kept under HISTORY_KEY."""
    medians: dict[str, float] = {HISTORY_KEY: float(delivered)}
    for stage, row in stats.items():
        median = row.get("median_days")
        if median is not None:
            medians[stage] = float(median)
    return medians


def bottleneck_stage(stats: Mapping[str, StageStats]) -> str | None:
    """The institution stage with the highest mean days, None if none has data.

    ``awaiting_applicant`` is excluded: the applicant's time is not an
    institutional bottleneck. Ties go to the earliest stage of ``stats``.
    """
    best: str | None = None
    best_mean = -math.inf
    for stage, row in stats.items():
        mean = row.get("mean_days")
        if stage == AWAITING_APPLICANT or mean is None:
            continue
        if float(mean) > best_mean:
            best, best_mean = stage, float(mean)
    return best


# --- Statutory clocks ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatutoryPeriods:
    """Legal periods; a settings-driven instance lets another hub reuse the engine."""

    completeness_working_days: int = 7  # decree 2019-536 art. 88
    cesrees_months: int = 1  # decree art. 90-91
    cesrees_extension_months: int = 1
    cnil_months: int = 2
    cnil_extension_months: int = 2


DEFAULT_PERIODS = StatutoryPeriods()


@dataclass(frozen=True, slots=True)
class StatutoryClock:
    """The legal clock of one stage visit.

    Two distinct dates, never merged: ``due_date`` is the last day of the
    period (it ends at midnight that day, after the art. 642 roll to a
    working day), and ``tacit_effect_date`` is the day the tacit decision
    takes effect (the day after), set only when silence has a legal effect.
    """

    stage: str
    started_on: date
    due_date: date
    tacit_decision: str | None
    tacit_effect_date: date | None

    def is_overdue(self, as_of: datetime, visit_end: datetime | None = None) -> bool:
        """Was the period exceeded?

        For a visit still open at ``as_of`` (``visit_end`` None or later than
        ``as_of``): the Paris date of ``as_of`` is after ``due_date``. For a
        closed visit: the Paris date of its end is after ``due_date``.
        """
        return is_overdue(self.due_date, as_of, visit_end)


def is_overdue(due_date: date, as_of: datetime, visit_end: datetime | None = None) -> bool:
    """A visit is overdue when the Paris date it ended (or of ``as_of``, while it is still
    open then) is after its due date."""
    _require_aware(as_of, "as_of")
    if visit_end is not None:
        _require_aware(visit_end, "visit_end")
        if visit_end <= as_of:
            return paris_date(visit_end) > due_date
    return paris_date(as_of) > due_date


def statutory_due(
    stage: str,
    entered_at: datetime,
    *,
    extended: bool = False,
    urgent: bool = False,
    simplified: bool = False,
    subdiv: str | None = None,
    cesrees_expressly_favourable: bool = False,
    cnil_silence_is_authorisation_always: bool = False,
    periods: StatutoryPeriods = DEFAULT_PERIODS,
) -> StatutoryClock | None:
    """The statutory clock of a visit to ``stage`` entered at ``entered_at``.

    * ``submitted`` (completeness): 7 working days after the Paris date of
      entry; no extension, no tacit decision (``extended`` is ignored).
    * ``cesrees_review``: 1 month (+1 when ``extended``), rolled to a working
      day; silence is a favourable opinion.
    * ``cnil_review``: 2 months (+2 when renewed, ``extended``), rolled to a
      working day; silence is an authorisation when the CESREES opinion was
      expressly favourable, or always when the deployment setting
      ``cnil_silence_is_authorisation_always`` says so (the rule is not
      verified, DOMAIN.md); otherwise no tacit decision.
    * any other stage: None, there is no legal clock.

    Which entry instant to pass (first entry, or the resumption after an
    applicant pause under a "reset" policy) is the caller's decision.
    """
    _require_aware(entered_at, "entered_at")
    started_on = paris_date(entered_at)
    unrolled = period_end(stage, started_on, extended=extended, urgent=urgent, simplified=simplified,
                          subdiv=subdiv, periods=periods)
    if unrolled is None:
        return None
    tacit = silence_decision(stage, cesrees_expressly_favourable=cesrees_expressly_favourable,
                             cnil_silence_is_authorisation_always=cnil_silence_is_authorisation_always)
    due = roll_to_working_day(unrolled, subdiv)
    return StatutoryClock(
        stage=stage,
        started_on=started_on,
        due_date=due,
        tacit_decision=tacit,
        tacit_effect_date=due + timedelta(days=1) if tacit is not None else None,
    )


#: Calendar days of the short periods: the urgent CESREES procedure, the simplified route's HDH check.
URGENT_CESREES_DAYS = 15
SIMPLIFIED_COMPLETENESS_DAYS = 15


def period_end(stage: str, started_on: date, *, extended: bool = False, urgent: bool = False,
               simplified: bool = False, subdiv: str | None = None,
               periods: StatutoryPeriods = DEFAULT_PERIODS) -> date | None:
    """The last day of a stage's legal period started on ``started_on``, before the art. 642
    move to a working day; None for a stage without a legal clock.

    Completeness: 7 working days (simplified route: 15 calendar days). CESREES: 1 month, or
    15 days when ``urgent``; the extension adds 1 month counted from the start. CNIL: 2
    months, renewed by 2 more counted from the start. ``extended`` is ignored for completeness.
    """
    if stage == SUBMITTED:
        if simplified:
            return started_on + timedelta(days=SIMPLIFIED_COMPLETENESS_DAYS)
        return add_working_days(started_on, periods.completeness_working_days, subdiv)
    if stage == CESREES_REVIEW:
        extra = periods.cesrees_extension_months if extended else 0
        if urgent:
            return add_months(started_on, extra) + timedelta(days=URGENT_CESREES_DAYS)
        return add_months(started_on, periods.cesrees_months + extra)
    if stage == CNIL_REVIEW:
        extra = periods.cnil_extension_months if extended else 0
        return add_months(started_on, periods.cnil_months + extra)
    return None


def silence_decision(stage: str, *, cesrees_expressly_favourable: bool = False,
                     cnil_silence_is_authorisation_always: bool = False) -> str | None:
    """What the administration's silence decides once a stage's period runs out (None: nothing).

    CESREES: a favourable opinion. CNIL: an authorisation when the CESREES opinion was
    expressly favourable, or always when the deployment says so (the rule is not verified,
    DOMAIN.md). Completeness: nothing.
    """
    if stage == CESREES_REVIEW:
        return TACIT_FAVOURABLE_OPINION
    if stage == CNIL_REVIEW and (cesrees_expressly_favourable or cnil_silence_is_authorisation_always):
        return TACIT_AUTHORISATION
    return None


# --- Visits with their legal clocks ----------------------------------------------------------

#: Why a reviewer asked the applicant for information (CRPA L.114-5: an incomplete dossier
#: restarts the clock); a request with no recorded reason (older history) counts as incomplete.
REASON_INCOMPLETE = "incomplete"
REASON_INCORRECT = "incorrect"
REASON_OTHER = "other"
INFORMATION_REASONS: tuple[str, ...] = (REASON_INCOMPLETE, REASON_INCORRECT, REASON_OTHER)

RESUME_RESET = "reset"
RESUME_CONTINUE = "continue"
CLOCK_STAGES: tuple[str, ...] = (SUBMITTED, CESREES_REVIEW, CNIL_REVIEW)


@dataclass(frozen=True, slots=True)
class ClockPolicy:
    """How a deployment counts: its legal periods, calendar, resumption policy and CNIL rule."""

    periods: StatutoryPeriods = DEFAULT_PERIODS
    resume: tuple[tuple[str, str], ...] = (
        (SUBMITTED, RESUME_RESET), (CESREES_REVIEW, RESUME_RESET), (CNIL_REVIEW, RESUME_CONTINUE),
    )
    subdiv: str | None = None
    cnil_silence_is_authorisation_always: bool = False

    def resume_policy(self, stage: str) -> str:
        return dict(self.resume).get(stage, RESUME_RESET)


DEFAULT_POLICY = ClockPolicy()


@dataclass(frozen=True, slots=True)
class ClockFacts:
    """What the log says beyond the states: keyed by the instant of the event concerned."""

    extensions: tuple[datetime, ...] = ()  # CESREES extensions and CNIL renewals (no change of state)
    reasons: Mapping[datetime, str] | None = None  # entry into awaiting_applicant -> its reason
    urgent_entries: frozenset[datetime] = frozenset()  # entries into cesrees_review under the urgent procedure
    simplified: bool = False  # the request follows the simplified route
    cesrees_expressly_favourable: bool = False


@dataclass(frozen=True, slots=True)
class VisitStatute:
    """One stage visit with its legal clock, independent of the instant it is read at.

    ``unrolled_due`` is the period's last day before the move to a working day (what a
    "continue" resumption carries on from); ``silence`` the decision silence makes when the
    period runs out. ``reason`` is the information request's reason for the visit that a
    pause interrupted and for the pause itself.
    """

    stage: str
    entered_at: datetime
    left_at: datetime | None
    days: float
    due_date: date | None
    unrolled_due: date | None
    extended: bool
    urgent: bool
    reason: str
    silence: str | None


@dataclass(frozen=True, slots=True)
class VisitReading:
    """A visit's legal clock read at an instant ``at`` (rules 2 and 3 of issue #12)."""

    overdue: bool
    tacit_decision: str | None
    tacit_effect_date: date | None
    projected: bool


def read_visit(due_date: date | None, silence: str | None, left_at: datetime | None, at: datetime) -> VisitReading:
    """Overdue and tacit decision of a visit at ``at``.

    Overdue: the Paris date it ended (or of ``at`` while still open) is after its due date. A
    tacit decision exists only when the period ran out with no decision: it takes effect the
    day after the due date. A visit closed within its period has none; one still open within
    its period shows the date it would take effect, marked projected.
    """
    if due_date is None:
        return VisitReading(False, None, None, False)
    overdue = is_overdue(due_date, at, left_at)
    if silence is None:
        return VisitReading(overdue, None, None, False)
    still_open = left_at is None or left_at > at
    if overdue:
        return VisitReading(True, silence, due_date + timedelta(days=1), False)
    if still_open:
        return VisitReading(False, silence, due_date + timedelta(days=1), True)
    return VisitReading(False, None, None, False)


def paused_days(pause_start: datetime, pause_end: datetime | None, at: datetime) -> int:
    """The whole Paris calendar days of a pause, from the date of the request to that of the
    answer (or of ``at`` while the applicant has not answered by then)."""
    end = pause_end if pause_end is not None and pause_end <= at else at
    return max((paris_date(end) - paris_date(pause_start)).days, 0)


def _resumed_from(visits: Sequence[StageVisit], index: int) -> StageVisit | None:
    """The pause ``visits[index]`` resumes after: a visit to awaiting_applicant just before it,
    itself right after a visit to the same stage."""
    if index < 2:
        return None
    pause, paused = visits[index - 1], visits[index - 2]
    if pause.stage != AWAITING_APPLICANT or paused.stage != visits[index].stage:
        return None
    return pause


def _due(stage: str, origin: date, shift: int, *, extended: bool, urgent: bool, facts: ClockFacts,
         policy: ClockPolicy) -> tuple[date, date]:
    """(last day before the working-day move, due date) of a period begun on ``origin`` and
    carried ``shift`` days by continued pauses."""
    end = period_end(stage, origin, extended=extended, urgent=urgent, simplified=facts.simplified,
                     subdiv=policy.subdiv, periods=policy.periods)
    assert end is not None
    unrolled = end + timedelta(days=shift)
    return unrolled, roll_to_working_day(unrolled, policy.subdiv)


def statutory_visits(visits: Sequence[StageVisit], facts: ClockFacts = ClockFacts(), *,
                     policy: ClockPolicy = DEFAULT_POLICY, until: datetime | None = None) -> list[VisitStatute]:
    """Every visit of ``visits`` (``ComputedDelay.stage_visits``) with its legal clock.

    A visit is one entry into a stage, up to the next change of state; its period starts on
    the Paris date of entry. After an information request the stage resumes under its
    policy: ``reset`` restarts the period from the Paris date of the answer; ``continue``
    (CNIL by default) carries the paused visit's unrolled due date forward by the whole Paris
    days of the pause, unless the request's reason was ``incomplete`` (or unrecorded), which
    resets. An extension (at most one per visit, and only while its period runs: both are
    refused when written) lengthens the period of the visit it falls in, counted from the
    start; a continued visit keeps its predecessor's extension and urgency. ``until``: the
    extensions after it are ignored (a replay in the past).
    """
    reasons = facts.reasons or {}
    extensions = sorted(x for x in facts.extensions if until is None or x <= until)
    out: list[VisitStatute] = []
    # Per stage: (origin date, days carried, extended, urgent) of the period running.
    chains: dict[str, tuple[date, int, bool, bool]] = {}
    for index, visit in enumerate(visits):
        reason = ""
        following = visits[index + 1] if index + 1 < len(visits) else None
        if visit.stage == AWAITING_APPLICANT:
            reason = reasons.get(visit.start) or REASON_INCOMPLETE
        elif following is not None and following.stage == AWAITING_APPLICANT:
            reason = reasons.get(following.start) or REASON_INCOMPLETE
        if visit.stage not in CLOCK_STAGES:
            out.append(VisitStatute(visit.stage, visit.start, visit.end, visit.days, None, None, False, False,
                                    reason, None))
            continue
        pause = _resumed_from(visits, index)
        chain = chains.get(visit.stage)
        urgent = visit.start in facts.urgent_entries
        if pause is not None and chain is not None:
            pause_reason = reasons.get(pause.start) or REASON_INCOMPLETE
            carried = (paris_date(visit.start) - paris_date(pause.start)).days
            urgent = chain[3]
            if policy.resume_policy(visit.stage) == RESUME_CONTINUE and pause_reason != REASON_INCOMPLETE:
                origin, shift, extended = chain[0], chain[1] + carried, chain[2]
            else:
                origin, shift, extended = paris_date(visit.start), 0, False
        else:
            origin, shift, extended = paris_date(visit.start), 0, False
        unrolled, due = _due(visit.stage, origin, shift, extended=extended, urgent=urgent, facts=facts, policy=policy)
        if visit.stage in (CESREES_REVIEW, CNIL_REVIEW):
            for at in extensions:
                inside = visit.start <= at and (visit.end is None or at <= visit.end)
                if inside and not extended and paris_date(at) <= due:
                    extended = True
                    unrolled, due = _due(visit.stage, origin, shift, extended=True, urgent=urgent, facts=facts,
                                         policy=policy)
        chains[visit.stage] = (origin, shift, extended, urgent)
        silence = silence_decision(
            visit.stage, cesrees_expressly_favourable=facts.cesrees_expressly_favourable,
            cnil_silence_is_authorisation_always=policy.cnil_silence_is_authorisation_always,
        )
        out.append(VisitStatute(visit.stage, visit.start, visit.end, visit.days, due, unrolled, extended, urgent,
                                reason, silence))
    return out


# --- The legal periods still ahead (a receipt's dates) ----------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectedPeriod:
    """A stage's legal period still ahead of a request, dated as if every stage before it used its
    whole period: ``started_on`` is the due date of the stage before. ``needs_express_opinion``:
    the silence decides ``tacit_decision`` only after an expressly favourable CESREES opinion."""

    stage: str
    started_on: date
    due_date: date
    tacit_decision: str | None
    tacit_effect_date: date | None
    needs_express_opinion: bool


def expected_periods(stages: Sequence[str], after: date, *, policy: ClockPolicy = DEFAULT_POLICY) -> list[ExpectedPeriod]:
    """The legal periods of ``stages`` (in pathway order; a stage without a legal clock is
    skipped) run one after the other: the first starts on ``after`` (the due date of the stage in
    progress), each next one on the due date of the one before.

    These are the latest dates while nobody is asked for information: a decision taken earlier
    brings every later date forward, an information request suspends the period it falls in (and
    an incomplete dossier restarts it, CRPA L.114-5). Neither an urgent procedure nor an
    extension is assumed. The tacit decision is the one the silence makes once the period runs
    out (``silence_decision``); the CNIL's, which needs an expressly favourable CESREES opinion
    unless the deployment says otherwise, is flagged ``needs_express_opinion``.
    """
    out: list[ExpectedPeriod] = []
    start = after
    for stage in stages:
        end = period_end(stage, start, subdiv=policy.subdiv, periods=policy.periods)
        if end is None:
            continue
        due = roll_to_working_day(end, policy.subdiv)
        always = policy.cnil_silence_is_authorisation_always
        silence = silence_decision(stage, cesrees_expressly_favourable=True, cnil_silence_is_authorisation_always=always)
        unconditional = silence_decision(stage, cesrees_expressly_favourable=False,
                                         cnil_silence_is_authorisation_always=always)
        out.append(ExpectedPeriod(
            stage=stage, started_on=start, due_date=due, tacit_decision=silence,
            tacit_effect_date=due + timedelta(days=1) if silence is not None else None,
            needs_express_opinion=silence is not None and unconditional is None,
        ))
        start = due
    return out


#: Why an extension is refused (the caller words the message).
EXTENSION_NO_CLOCK = "no_clock"
EXTENSION_ALREADY = "already_extended"
EXTENSION_TOO_LATE = "period_over"


def extension_refusal(visit: VisitStatute | None, at: datetime) -> str | None:
    """None when the open ``visit`` may be extended at ``at``; else why not.

    Allowed in the CESREES and CNIL stages, once per visit, up to the end of the due date
    (after its move to a working day).
    """
    _require_aware(at, "at")
    if visit is None or visit.stage not in (CESREES_REVIEW, CNIL_REVIEW) or visit.due_date is None:
        return EXTENSION_NO_CLOCK
    if visit.extended:
        return EXTENSION_ALREADY
    if paris_date(at) > visit.due_date:
        return EXTENSION_TOO_LATE
    return None
