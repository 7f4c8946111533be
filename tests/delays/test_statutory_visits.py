"""The statutory clocks of issue #12, from the decree's wording: table-driven, plus properties."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delays import rules
from tests.conftest import paris

PARIS = ZoneInfo("Europe/Paris")



NO_FACTS = rules.ClockFacts()


def visits_of(events, facts=NO_FACTS, *, at, policy=rules.DEFAULT_POLICY):
    result = rules.compute_delay(events, requires_matching=True, as_of=at)
    assert result is not None
    return rules.statutory_visits(result.stage_visits, facts, policy=policy, until=at)


# (what the decree says, events, facts, index of the visit, expected due date)
CASES = [
    ("completeness: 7 working days", [("submitted", paris(2025, 3, 3))], rules.ClockFacts(), 0, dt.date(2025, 3, 12)),
    ("simplified route: 15 calendar days, moved to a working day", [("submitted", paris(2025, 3, 1))],
     rules.ClockFacts(simplified=True), 0, dt.date(2025, 3, 17)),
    ("CESREES: one month", [("submitted", paris(2025, 3, 3)), ("cesrees_review", paris(2025, 4, 1))],
     rules.ClockFacts(), 1, dt.date(2025, 5, 2)),
    ("CESREES urgent: 15 days", [("submitted", paris(2025, 3, 3)), ("cesrees_review", paris(2025, 4, 1))],
     rules.ClockFacts(urgent_entries=frozenset({paris(2025, 4, 1)})), 1, dt.date(2025, 4, 16)),
    ("CESREES urgent extended: 15 days + 1 month from the start",
     [("submitted", paris(2025, 3, 3)), ("cesrees_review", paris(2025, 4, 1))],
     rules.ClockFacts(urgent_entries=frozenset({paris(2025, 4, 1)}), extensions=(paris(2025, 4, 10),)),
     1, dt.date(2025, 5, 16)),
    ("CESREES extended: 2 months from the start", [("submitted", paris(2025, 1, 2)), ("cesrees_review", paris(2025, 1, 31))],
     rules.ClockFacts(extensions=(paris(2025, 2, 10),)), 1, dt.date(2025, 3, 31)),
    ("an extension after the due date does not count",
     [("submitted", paris(2025, 3, 3)), ("cesrees_review", paris(2025, 4, 1))],
     rules.ClockFacts(extensions=(paris(2025, 5, 3),)), 1, dt.date(2025, 5, 2)),
    ("CNIL renewed: 4 months", [("submitted", paris(2025, 3, 3)), ("cesrees_review", paris(2025, 3, 10)),
                                ("cnil_review", paris(2025, 4, 14))],
     rules.ClockFacts(extensions=(paris(2025, 5, 1),)), 2, dt.date(2025, 8, 14)),
]


@pytest.mark.parametrize(("rule", "events", "facts", "index", "due"), CASES, ids=[c[0] for c in CASES])
def test_due_dates_follow_the_decree(rule, events, facts, index, due):
    assert visits_of(events, facts, at=paris(2025, 9, 1))[index].due_date == due


CNIL_PAUSE = [("submitted", paris(2025, 3, 3)), ("cesrees_review", paris(2025, 3, 10)),
              ("cnil_review", paris(2025, 4, 14)), ("awaiting_applicant", paris(2025, 5, 2)),
              ("cnil_review", paris(2025, 5, 12))]


@pytest.mark.parametrize(("reason", "due"), [
    ("incorrect", dt.date(2025, 6, 24)),  # 14 June + 10 days of pause = Tuesday 24 June
    ("other", dt.date(2025, 6, 24)),
    ("incomplete", dt.date(2025, 7, 15)),  # reset: 12 May + 2 months = Saturday 12 July; 14 July a holiday
    (None, dt.date(2025, 7, 15)),  # no recorded reason counts as incomplete
])
def test_the_cnil_continues_after_a_pause_unless_the_request_was_incomplete(reason, due):
    reasons = {paris(2025, 5, 2): reason} if reason else {}
    visits = visits_of(CNIL_PAUSE, rules.ClockFacts(reasons=reasons), at=paris(2025, 5, 12))
    assert visits[-1].due_date == due
    assert visits[2].reason == (reason or "incomplete")


def test_a_pause_s_whole_paris_days():
    assert rules.paused_days(paris(2025, 5, 2, 23), paris(2025, 5, 12, 1), paris(2025, 6, 1)) == 10
    assert rules.paused_days(paris(2025, 5, 2), None, paris(2025, 5, 5)) == 3


@pytest.mark.parametrize(("left", "at", "expected"), [
    (paris(2025, 5, 2, 23), paris(2025, 6, 1), (False, None, None, False)),  # closed in time: none
    (paris(2025, 5, 5), paris(2025, 6, 1), (True, "favourable_opinion", dt.date(2025, 5, 3), False)),
    (None, paris(2025, 4, 20), (False, "favourable_opinion", dt.date(2025, 5, 3), True)),  # projected
    (None, paris(2025, 5, 3), (True, "favourable_opinion", dt.date(2025, 5, 3), False)),
])
def test_a_tacit_decision_only_when_the_period_ran_out(left, at, expected):
    read = rules.read_visit(dt.date(2025, 5, 2), rules.TACIT_FAVOURABLE_OPINION, left, at)
    assert (read.overdue, read.tacit_decision, read.tacit_effect_date, read.projected) == expected


def test_an_extension_is_refused_after_the_due_date_or_twice():
    visit = visits_of([("submitted", paris(2025, 3, 3)), ("cesrees_review", paris(2025, 4, 1))], at=paris(2025, 4, 2))[-1]
    assert rules.extension_refusal(visit, paris(2025, 5, 2, 23)) is None
    assert rules.extension_refusal(visit, paris(2025, 5, 3, 0, )) == rules.EXTENSION_TOO_LATE
    extended = visits_of([("submitted", paris(2025, 3, 3)), ("cesrees_review", paris(2025, 4, 1))],
                         rules.ClockFacts(extensions=(paris(2025, 4, 5),)), at=paris(2025, 4, 6))[-1]
    assert rules.extension_refusal(extended, paris(2025, 4, 7)) == rules.EXTENSION_ALREADY


days = st.integers(min_value=1, max_value=200)
start = st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2027, 1, 1),
                     timezones=st.just(PARIS))


@settings(max_examples=150, deadline=None)
@given(start, days, days, st.sampled_from(["incorrect", "other", "incomplete"]),
       st.sampled_from([rules.RESUME_RESET, rules.RESUME_CONTINUE]))
def test_property_reset_restarts_and_continue_carries_the_pause(entered, before, pause, reason, policy):
    asked = entered + dt.timedelta(days=before)
    answered = asked + dt.timedelta(days=pause)
    events = [("submitted", entered - dt.timedelta(days=30)), ("cnil_review", entered),
              ("awaiting_applicant", asked), ("cnil_review", answered)]
    chosen = rules.ClockPolicy(resume=((rules.CNIL_REVIEW, policy),))
    first, _pause, resumed = visits_of(events, rules.ClockFacts(reasons={asked: reason}), at=answered,
                                       policy=chosen)[1:]
    if policy == rules.RESUME_CONTINUE and reason != "incomplete":
        carried = (rules.paris_date(answered) - rules.paris_date(asked)).days
        assert resumed.unrolled_due == first.unrolled_due + dt.timedelta(days=carried)
    else:
        assert resumed.unrolled_due == rules.add_months(rules.paris_date(answered), 2)
    assert resumed.due_date >= resumed.unrolled_due


@settings(max_examples=150, deadline=None)
@given(start, st.integers(min_value=0, max_value=40), st.sampled_from(["cesrees_review", "cnil_review"]),
       st.booleans())
def test_property_an_extension_never_shortens_a_period(entered, after, stage, urgent):
    events = [("submitted", entered - dt.timedelta(days=10)), (stage, entered)]
    facts = rules.ClockFacts(urgent_entries=frozenset({entered}) if urgent else frozenset())
    plain = visits_of(events, facts, at=entered + dt.timedelta(days=300))[-1]
    extended_facts = rules.ClockFacts(urgent_entries=facts.urgent_entries,
                                      extensions=(entered + dt.timedelta(days=after),))
    extended = visits_of(events, extended_facts, at=entered + dt.timedelta(days=300))[-1]
    assert extended.due_date is not None and plain.due_date is not None
    assert extended.due_date >= plain.due_date


@settings(max_examples=150, deadline=None)
@given(start, st.integers(min_value=1, max_value=120), st.integers(min_value=0, max_value=400))
def test_property_no_tacit_date_on_a_visit_closed_in_time(entered, stay, later):
    left = entered + dt.timedelta(days=stay)
    events = [("submitted", entered - dt.timedelta(days=10)), ("cesrees_review", entered), ("cnil_review", left)]
    visit = visits_of(events, at=left)[1]
    read = rules.read_visit(visit.due_date, visit.silence, visit.left_at, left + dt.timedelta(days=later))
    if rules.paris_date(left) <= visit.due_date:
        assert read.tacit_decision is None and read.tacit_effect_date is None and not read.overdue
    else:
        assert read.tacit_decision == "favourable_opinion" and read.overdue
