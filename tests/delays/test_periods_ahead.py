"""The legal periods still ahead of a request (the receipt's dates): rules.expected_periods and
RequestClock.periods_ahead, which asks it from the open stage's due date."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from access_requests.workflow import Route
from delays import rules
from delays.clock import request_clock
from hdh_access.lib.dates import add_months, roll_to_working_day
from tests.conftest import paris

PARIS = ZoneInfo("Europe/Paris")
REVIEWS = (rules.CESREES_REVIEW, rules.CNIL_REVIEW)


def test_each_period_starts_on_the_due_date_of_the_one_before():
    # Completeness due on Wednesday 15 January 2025: the CESREES month ends on Saturday 15 February,
    # moved to Monday 17; the CNIL's two months from then end on Thursday 17 April.
    cesrees, cnil = rules.expected_periods(REVIEWS, dt.date(2025, 1, 15))
    assert (cesrees.stage, cesrees.started_on, cesrees.due_date) == (
        rules.CESREES_REVIEW, dt.date(2025, 1, 15), dt.date(2025, 2, 17))
    assert (cesrees.tacit_decision, cesrees.tacit_effect_date, cesrees.needs_express_opinion) == (
        rules.TACIT_FAVOURABLE_OPINION, dt.date(2025, 2, 18), False)
    assert (cnil.stage, cnil.started_on, cnil.due_date) == (rules.CNIL_REVIEW, dt.date(2025, 2, 17), dt.date(2025, 4, 17))
    # The CNIL's silence authorises only after an expressly favourable CESREES opinion (DOMAIN.md).
    assert (cnil.tacit_decision, cnil.tacit_effect_date, cnil.needs_express_opinion) == (
        rules.TACIT_AUTHORISATION, dt.date(2025, 4, 18), True)


def test_a_deployment_whose_cnil_silence_always_authorises_needs_no_express_opinion():
    policy = rules.ClockPolicy(cnil_silence_is_authorisation_always=True)
    cnil = rules.expected_periods((rules.CNIL_REVIEW,), dt.date(2025, 2, 17), policy=policy)[0]
    assert (cnil.tacit_decision, cnil.needs_express_opinion) == (rules.TACIT_AUTHORISATION, False)


def test_stages_without_a_legal_clock_are_skipped():
    assert rules.expected_periods((rules.CONTRACTING, rules.MATCHING, rules.EXTRACTION), dt.date(2025, 1, 15)) == []
    assert [p.stage for p in rules.expected_periods(
        (rules.CESREES_REVIEW, rules.CONTRACTING, rules.CNIL_REVIEW), dt.date(2025, 1, 15))] == list(REVIEWS)


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2028, 12, 31)))
def test_property_the_periods_chain_and_each_takes_effect_the_day_after_its_due_date(after):
    cesrees, cnil = rules.expected_periods(REVIEWS, after)
    assert cesrees.started_on == after and cnil.started_on == cesrees.due_date
    assert cesrees.due_date == roll_to_working_day(add_months(after, 1))
    assert cnil.due_date == roll_to_working_day(add_months(cesrees.due_date, 2))
    for period in (cesrees, cnil):
        assert period.due_date > period.started_on
        assert period.tacit_effect_date == period.due_date + dt.timedelta(days=1)


def test_a_submitted_request_has_the_reviews_ahead_from_its_completeness_due_date(player):
    request = player.story((paris(2025, 1, 6), "submit"))
    clock = request_clock(request, paris(2025, 1, 6, 11))
    assert clock.current_visit.due_date == dt.date(2025, 1, 15)  # 7 working days
    assert [(p.stage, p.started_on, p.due_date, p.tacit_effect_date) for p in clock.periods_ahead()] == [
        (rules.CESREES_REVIEW, dt.date(2025, 1, 15), dt.date(2025, 2, 17), dt.date(2025, 2, 18)),
        (rules.CNIL_REVIEW, dt.date(2025, 2, 17), dt.date(2025, 4, 17), dt.date(2025, 4, 18)),
    ]


def test_in_the_cesrees_review_only_the_cnil_is_ahead_from_the_visit_s_due_date(player):
    request = player.story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"))
    clock = request_clock(request, paris(2025, 1, 20))
    assert clock.current_visit.due_date == dt.date(2025, 2, 10)
    assert [(p.stage, p.started_on) for p in clock.periods_ahead()] == [(rules.CNIL_REVIEW, dt.date(2025, 2, 10))]


def test_nothing_is_ahead_on_a_route_without_review_nor_while_the_applicant_is_waited_on(player, make_request):
    request = player.story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 7), "ask"))
    assert request_clock(request, paris(2025, 1, 8)).periods_ahead() == ()
    simplified = make_request("submitted", codes=("esnd",), route=Route.SIMPLIFIED)
    clock = request_clock(simplified, simplified.events.last().at)
    assert clock.current_visit.due_date is not None and clock.periods_ahead() == ()
