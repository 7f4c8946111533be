"""Materialised delay rows: written after each committed transition, in bulk, nightly.

Histories are made through the services with the clock frozen at chosen Paris instants
(``time_machine``), and the on-commit callbacks executed, so the recompute task runs
(eagerly) at the instant of the transition, as it would in production.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.workflow import State
from catalog.models import Dataset
from delays import tasks as delay_tasks
from delays.clock import request_clock, visit_clock
from delays.materialise import materialise_request, materialise_requests, refresh_baseline, refresh_open_delays
from delays.models import DelayBaseline, RequestDelay
from hdh_access.celery import app
from tests.conftest import paris, store_baseline

PARIS = ZoneInfo("Europe/Paris")
TARGET_CODES = ("snds", "oscour")  # two sources: matching needed, the target population


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The personas' passwords are hashed with a fast hasher: these tests are about delays."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]



def instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


# --- building histories -----------------------------------------------------------------
@pytest.fixture
def story(player):
    """Create a draft, then run each ``(instant, step)`` through the services at that instant
    (tests/conftest.py: Player). Returns the request's id."""

    def make(*steps, codes=TARGET_CODES, opinion="favourable", created=None):
        return player.story(*steps, codes=codes, opinion=opinion, created=created).pk

    make.run_at = player.run_at
    return make


def delivered_story(story, start: dt.datetime, **kwargs) -> int:
    """A target request delivered 10 + 30 + 40 + 10 + 20 + 10 = 120 days after ``start``."""
    days = [0, 10, 40, 80, 90, 110, 120]
    names = ["submit", "forward", "opinion", "authorise", "contract", "matched", "deliver"]
    return story(*[(start + dt.timedelta(days=d), n) for d, n in zip(days, names, strict=True)], **kwargs)


def row(pk: int) -> RequestDelay:
    return RequestDelay.objects.get(pk=pk)


# --- a committed transition writes the row ----------------------------------------------
def test_a_draft_has_no_delay_row_even_after_its_create_task_ran(story, personas):
    pk = story()
    assert not RequestDelay.objects.filter(pk=pk).exists()
    story.run_at(paris(2024, 1, 3), services.withdraw, request_id=pk, actor=personas["applicant"], reason="Abandon")
    assert not RequestDelay.objects.filter(pk=pk).exists()


def test_submitting_writes_the_row_with_the_completeness_clock(story):
    pk = story((paris(2024, 1, 15), "submit"))

    delay = row(pk)
    assert delay.state == State.SUBMITTED
    assert delay.status == "on_track"
    assert delay.requires_matching is True
    assert delay.submitted_at == paris(2024, 1, 15)
    assert delay.deadline == dt.date(2024, 8, 15)  # 7 calendar months from the Paris date
    assert delay.current_stage == State.SUBMITTED
    assert delay.current_since == paris(2024, 1, 15)
    assert delay.current_due_date == dt.date(2024, 1, 24)  # 7 working days after Monday 15
    assert delay.days_submitted == 0.0
    assert delay.elapsed_days == 0.0
    assert delay.computed_at == paris(2024, 1, 15)
    assert delay.ended_at is None and delay.target_met is None
    assert len(delay.visits) == 1
    visit = delay.visits[0]
    assert visit["stage"] == "submitted" and visit["end"] is None
    assert instant(visit["start"]) == paris(2024, 1, 15)
    assert (visit["due_date"], visit["silence"], visit["extended"], visit["urgent"]) == ("2024-01-24", None, False, False)
    read = visit_clock(visit, paris(2024, 1, 15))
    assert (read.tacit_decision, read.tacit_effect_date, read.projected) == (None, None, False)


def test_the_next_transition_updates_the_row_stage_days_and_current_stage(story):
    pk = story((paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"))

    delay = row(pk)
    assert RequestDelay.objects.filter(pk=pk).count() == 1
    assert delay.state == State.CESREES_REVIEW
    assert delay.days_submitted == 10.0
    assert delay.days_cesrees_review == 0.0
    assert delay.elapsed_days == 10.0
    assert delay.current_stage == State.CESREES_REVIEW
    assert delay.current_since == paris(2024, 1, 25)
    # 25 February 2024 is a Sunday: the one-month period ends on Monday 26.
    assert delay.current_due_date == dt.date(2024, 2, 26)
    assert delay.computed_at == paris(2024, 1, 25)
    assert delay.last_event_at == paris(2024, 1, 25)
    assert [v["stage"] for v in delay.visits] == ["submitted", "cesrees_review"]
    assert instant(delay.visits[0]["end"]) == paris(2024, 1, 25)
    assert delay.visits[0]["days"] == 10.0
    assert delay.visits[1]["silence"] == "favourable_opinion"
    # Read while its period runs: the date silence would take effect, marked projected.
    read = visit_clock(delay.visits[1], paris(2024, 1, 25))
    assert (read.tacit_decision, read.tacit_effect_date, read.projected) == (
        "favourable_opinion", dt.date(2024, 2, 27), True)


def test_a_delivered_request_row_is_met_with_exact_stage_days_and_no_open_stay(story):
    # submitted 10, CESREES 30, CNIL 60 (one hour shorter: summer time on 31 March),
    # contracting 30, matching 40, extraction 27: 197 days minus one hour, within 7 months.
    pk = story(
        (paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"), (paris(2024, 2, 24), "opinion"),
        (paris(2024, 4, 24), "authorise"), (paris(2024, 5, 24), "contract"), (paris(2024, 7, 3), "matched"),
        (paris(2024, 7, 30), "deliver"),
    )

    delay = row(pk)
    hour = 1 / 24
    assert delay.status == "met" and delay.target_met is True
    assert delay.delivered_at == delay.ended_at == paris(2024, 7, 30)
    assert delay.elapsed_days == pytest.approx(197 - hour)
    assert delay.applicant_days == 0.0
    assert (delay.days_submitted, delay.days_cesrees_review) == (10.0, 30.0)
    assert delay.days_cnil_review == pytest.approx(60 - hour)
    assert (delay.days_contracting, delay.days_matching, delay.days_extraction) == (30.0, 40.0, 27.0)
    assert (delay.current_stage, delay.current_since, delay.current_due_date) == ("", None, None)
    assert delay.forecast_at is None
    assert [v["stage"] for v in delay.visits] == [
        "submitted", "cesrees_review", "cnil_review", "contracting", "matching", "extraction"]


def test_a_transition_rolled_back_enqueues_nothing_and_writes_no_row(story, personas,
                                                                    django_capture_on_commit_callbacks):
    pk = story()

    class Rollback(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Rollback), transaction.atomic():
            services.submit(request_id=pk, actor=personas["applicant"])
            raise Rollback

    assert callbacks == []
    assert not RequestDelay.objects.filter(pk=pk).exists()
    assert AccessRequest.objects.get(pk=pk).state == State.DRAFT


# --- cost and idempotency ---------------------------------------------------------------
def _other_requests(personas, count: int) -> None:
    targets = list(Dataset.objects.filter(code__in=TARGET_CODES))
    for index in range(count):
        request = services.create_draft(actor=personas["applicant"], title=f"Autre projet {index}", datasets=targets)
        services.submit(request_id=request.pk, actor=personas["applicant"])
        if index % 2:
            services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])


def _queries_of_one_recompute(pk: int) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        materialise_request(pk)
    return [q["sql"] for q in queries.captured_queries]


def test_recomputing_one_request_costs_the_same_queries_with_5_or_200_other_requests(story, personas):
    pk = story((paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"), (paris(2024, 2, 24), "opinion"))
    _other_requests(personas, 5)
    materialise_requests(AccessRequest.objects.values_list("pk", flat=True))
    with time_machine.travel(paris(2024, 3, 1), tick=False):
        with_5 = _queries_of_one_recompute(pk)

    _other_requests(personas, 195)
    materialise_requests(AccessRequest.objects.values_list("pk", flat=True))
    assert RequestDelay.objects.count() == 201
    with time_machine.travel(paris(2024, 3, 1), tick=False):
        with_200 = _queries_of_one_recompute(pk)

    assert len(with_200) == len(with_5)
    assert len(with_5) <= 8
    assert row(pk).computed_at == paris(2024, 3, 1)


def test_recomputing_twice_gives_identical_rows(story):
    open_pk = story((paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"), (paris(2024, 2, 5), "ask"))
    delivered_pk = delivered_story(story, paris(2024, 4, 2))

    with time_machine.travel(paris(2024, 9, 1), tick=False):
        delay_tasks.recompute_request_delay.delay(open_pk)
        delay_tasks.recompute_request_delay.delay(delivered_pk)
        first = {r["request_id"]: r for r in RequestDelay.objects.values()}
        delay_tasks.recompute_request_delay.delay(open_pk)
        materialise_request(delivered_pk)
        second = {r["request_id"]: r for r in RequestDelay.objects.values()}

    assert second == first
    assert len(second) == 2
    assert first[open_pk]["current_stage"] == State.AWAITING_APPLICANT
    assert first[open_pk]["paused_stage"] == State.CESREES_REVIEW


def test_an_ended_request_recomputed_later_changes_only_its_computed_at(story):
    pk = delivered_story(story, paris(2024, 4, 2))
    before = RequestDelay.objects.values().get(pk=pk)

    with time_machine.travel(paris(2025, 1, 1), tick=False):
        materialise_request(pk)
    after = RequestDelay.objects.values().get(pk=pk)

    assert after["computed_at"] == paris(2025, 1, 1)
    assert {k: v for k, v in after.items() if k != "computed_at"} == {
        k: v for k, v in before.items() if k != "computed_at"}


# --- statutory clocks -------------------------------------------------------------------
def test_extending_the_cesrees_review_moves_its_due_date_by_a_month_without_a_new_visit(story):
    pk = story((paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"), (paris(2024, 2, 1), "extend"))

    delay = row(pk)
    assert AccessRequest.objects.get(pk=pk).cesrees_extended is True
    assert delay.computed_at == paris(2024, 2, 1)  # the extension's own commit recomputed the row
    assert delay.current_due_date == dt.date(2024, 3, 25)  # 25 January + 2 months, a Monday
    assert delay.current_since == paris(2024, 1, 25)
    assert delay.days_cesrees_review == 7.0
    assert [v["stage"] for v in delay.visits] == ["submitted", "cesrees_review"]
    assert instant(delay.visits[1]["start"]) == paris(2024, 1, 25)
    assert delay.visits[1]["extended"] is True
    assert visit_clock(delay.visits[1], paris(2024, 2, 1)).tacit_effect_date == dt.date(2024, 3, 26)


def test_an_extension_applies_to_the_visit_it_was_recorded_in_and_later_ones_only(story):
    pk = story(
        (paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"), (paris(2024, 2, 5), "ask"),
        (paris(2024, 2, 15), "answer"), (paris(2024, 2, 20), "extend"),
    )

    cesrees_visits = [v for v in row(pk).visits if v["stage"] == "cesrees_review"]
    assert [v["due_date"] for v in cesrees_visits] == ["2024-02-26", "2024-04-15"]  # 15 April: a Monday
    assert row(pk).current_due_date == dt.date(2024, 4, 15)


def test_cesrees_review_resumed_after_a_pause_restarts_its_period(story):
    pk = story(
        (paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"), (paris(2024, 2, 5), "ask"),
        (paris(2024, 2, 15), "answer"),
    )

    delay = row(pk)
    assert [v["stage"] for v in delay.visits] == ["submitted", "cesrees_review", "awaiting_applicant", "cesrees_review"]
    assert [v["due_date"] for v in delay.visits] == ["2024-01-24", "2024-02-26", None, "2024-03-15"]
    assert delay.current_stage == State.CESREES_REVIEW
    assert delay.current_since == paris(2024, 2, 15)
    assert delay.current_due_date == dt.date(2024, 3, 15)  # reset: one month from the resumption
    assert (delay.days_cesrees_review, delay.applicant_days) == (11.0, 10.0)
    assert delay.paused_stage == ""


def test_while_waiting_on_the_applicant_the_row_names_the_paused_stage_and_has_no_due_date(story):
    pk = story((paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"), (paris(2024, 2, 5), "ask"))

    delay = row(pk)
    assert delay.state == State.AWAITING_APPLICANT
    assert (delay.current_stage, delay.paused_stage) == (State.AWAITING_APPLICANT, State.CESREES_REVIEW)
    assert delay.current_since == paris(2024, 2, 5)
    assert delay.current_due_date is None


CNIL_PAUSED = ((paris(2024, 2, 1), "submit"), (paris(2024, 2, 5), "forward"), (paris(2024, 3, 4), "opinion"),
               (paris(2024, 3, 14), "ask_incorrect"), (paris(2024, 3, 25), "answer"))


def test_cnil_review_resumed_after_a_pause_carries_the_days_already_used(story):
    pk = story(*CNIL_PAUSED)

    delay = row(pk)
    cnil = [v for v in delay.visits if v["stage"] == "cnil_review"]
    # First visit: 4 March + 2 months = Saturday 4 May, rolled to Monday 6. Paused from 14 to
    # 25 March (an "incorrect" request: the CNIL continues): 4 May + 11 days = Wednesday 15 May.
    assert [v["due_date"] for v in cnil] == ["2024-05-06", "2024-05-15"]
    assert delay.current_due_date == dt.date(2024, 5, 15)
    assert delay.current_since == paris(2024, 3, 25)


@pytest.mark.parametrize("ask", ["ask", "ask_incomplete"])
def test_cnil_review_resumed_after_an_incomplete_or_unexplained_request_restarts(story, ask):
    pk = story(*CNIL_PAUSED[:3], (paris(2024, 3, 14), ask), CNIL_PAUSED[4])

    delay = row(pk)
    assert delay.current_due_date == dt.date(2024, 5, 27)  # 25 March + 2 months: Saturday 25 May
    assert [v["reason"] for v in delay.visits if v["stage"] in ("cnil_review", "awaiting_applicant")] == [
        "incomplete", "incomplete", ""]


def test_the_cnil_resume_policy_setting_switches_to_a_restarted_period(story, settings):
    settings.HDH_CLOCK_RESUME_POLICY = {**settings.HDH_CLOCK_RESUME_POLICY, "cnil_review": "reset"}
    pk = story(*CNIL_PAUSED)

    assert row(pk).current_due_date == dt.date(2024, 5, 27)  # 25 May is a Saturday


def _cnil_clock(story, opinion: str) -> dict:
    pk = story((paris(2024, 2, 1), "submit"), (paris(2024, 2, 5), "forward"), (paris(2024, 3, 4), "opinion"),
               opinion=opinion)
    return row(pk).visits[-1]


def test_cesrees_silence_is_a_tacit_favourable_opinion_the_day_after_the_due_date(story):
    pk = story((paris(2024, 2, 1), "submit"), (paris(2024, 2, 5), "forward"))

    visit = row(pk).visits[-1]
    assert visit["stage"] == "cesrees_review"
    assert (visit["due_date"], visit["silence"]) == ("2024-03-05", "favourable_opinion")
    late = visit_clock(visit, paris(2024, 3, 6))
    assert (late.overdue, late.tacit_decision, late.tacit_effect_date, late.projected) == (
        True, "favourable_opinion", dt.date(2024, 3, 6), False)


@pytest.mark.parametrize("opinion", ["favourable", "favourable_with_recommendations"])
def test_cnil_silence_authorises_after_an_expressly_favourable_cesrees_opinion(story, opinion):
    visit = _cnil_clock(story, opinion)
    assert (visit["stage"], visit["due_date"], visit["silence"]) == ("cnil_review", "2024-05-06", "authorisation")
    assert visit_clock(visit, paris(2024, 5, 7)).tacit_effect_date == dt.date(2024, 5, 7)


@pytest.mark.parametrize("opinion", ["reserved", "unfavourable", "tacit"])
def test_cnil_silence_has_no_effect_without_an_expressly_favourable_opinion(story, opinion):
    visit = _cnil_clock(story, opinion)
    assert (visit["stage"], visit["due_date"], visit["silence"]) == ("cnil_review", "2024-05-06", None)
    late = visit_clock(visit, paris(2024, 5, 7))
    assert (late.overdue, late.tacit_decision, late.tacit_effect_date) == (True, None, None)


def test_cnil_silence_always_authorises_when_the_deployment_says_so(story, settings):
    settings.HDH_CNIL_SILENCE_ALWAYS_AUTHORISES = True
    visit = _cnil_clock(story, "reserved")
    assert visit["silence"] == "authorisation"
    assert visit_clock(visit, paris(2024, 5, 7)).tacit_effect_date == dt.date(2024, 5, 7)


# --- nightly refresh, baseline, command, beat -------------------------------------------
def test_nightly_refresh_moves_open_rows_to_now_and_leaves_ended_ones(small_history_is_enough, story):
    open_pk = story((paris(2024, 4, 1), "submit"), (paris(2024, 4, 11), "forward"))
    delivered_pk = delivered_story(story, paris(2024, 4, 2))
    draft_pk = story()
    ended_before = RequestDelay.objects.values().get(pk=delivered_pk)
    assert row(open_pk).status == "on_track"  # computed on 11 April, before any delivery

    with time_machine.travel(paris(2024, 9, 1, hour=2), tick=False):
        written = refresh_open_delays()

    assert written == 1
    opened = row(open_pk)
    assert opened.computed_at == paris(2024, 9, 1, hour=2)
    assert opened.days_cesrees_review == pytest.approx(143 - 8 / 24)  # 11 April 10:00 to 1 September 02:00
    # The refreshed medians (delivered request: CNIL 40, contracting 10, matching 20, extraction
    # 10 days) put the forecast on 20 November, after the 1 November deadline.
    assert opened.status == "at_risk"
    assert opened.forecast_at == paris(2024, 9, 1, hour=2).astimezone(dt.UTC) + dt.timedelta(days=80)
    assert RequestDelay.objects.values().get(pk=delivered_pk) == ended_before
    assert not RequestDelay.objects.filter(pk=draft_pk).exists()
    assert DelayBaseline.objects.get(key="target").computed_at == paris(2024, 9, 1, hour=2)


def _baseline_history(story) -> dict[str, int]:
    """Two delivered target requests, a delivered non-target one and an open one (no DST)."""
    a = story((paris(2024, 4, 1), "submit"), (paris(2024, 4, 11), "forward"), (paris(2024, 5, 1), "opinion"),
              (paris(2024, 6, 10), "authorise"), (paris(2024, 6, 20), "contract"), (paris(2024, 7, 10), "matched"),
              (paris(2024, 7, 20), "deliver"))
    b = story((paris(2024, 4, 2), "submit"), (paris(2024, 4, 6), "forward"), (paris(2024, 5, 6), "opinion"),
              (paris(2024, 6, 5), "authorise"), (paris(2024, 6, 25), "contract"), (paris(2024, 7, 5), "matched"),
              (paris(2024, 7, 25), "deliver"))
    single = story((paris(2024, 4, 3), "submit"), (paris(2024, 5, 3), "forward"), (paris(2024, 7, 2), "opinion"),
                   (paris(2024, 7, 12), "authorise"), (paris(2024, 7, 22), "contract"),
                   (paris(2024, 8, 1), "deliver"), codes=("snds",))
    waiting = story((paris(2024, 4, 5), "submit"))
    return {"a": a, "b": b, "single": single, "waiting": waiting}


def test_baseline_holds_the_stage_medians_of_delivered_target_requests_only(story):
    _baseline_history(story)

    medians = refresh_baseline(now=paris(2024, 8, 30))[True]

    # a: 10, 20, 40, 10, 20, 10 days; b: 4, 30, 30, 20, 10, 20 days. The single-source request
    # (30 days in completeness) and the open one (still in completeness) are left out.
    expected = {"submitted": 7.0, "cesrees_review": 25.0, "cnil_review": 35.0, "contracting": 15.0,
                "matching": 15.0, "extraction": 15.0, "delivered_requests": 2.0}
    # Per route (rule 6: the forecast reads its own route's): both were on the standard route.
    routes = {"standard": expected, "reference_methodology": {"delivered_requests": 0.0},
              "simplified": {"delivered_requests": 0.0}}
    baseline = DelayBaseline.objects.get(key="target")
    for found in (medians, dict(baseline.medians)):
        found_routes = found.pop("routes")
        assert found == pytest.approx(expected)
        assert found_routes.keys() == routes.keys()
        for route, values in routes.items():
            assert found_routes[route] == pytest.approx(values), route
    assert baseline.computed_at == paris(2024, 8, 30)


def test_baseline_as_of_an_earlier_instant_uses_only_requests_delivered_by_then(story):
    _baseline_history(story)

    medians = refresh_baseline(now=paris(2024, 7, 22))[True]

    assert medians.pop("routes")["standard"] == medians == pytest.approx({
        "submitted": 10.0, "cesrees_review": 20.0, "cnil_review": 40.0, "contracting": 10.0, "matching": 20.0,
        "extraction": 10.0, "delivered_requests": 1.0})


@pytest.mark.parametrize(("route", "at_risk"), [("standard", True), ("reference_methodology", False)])
def test_the_forecast_reads_the_medians_of_its_own_route(make_request, route, at_risk):
    # Twenty standard-route deliveries, none on the reference methodology: a request on that route
    # has no history of its own, so it is not called at risk and its forecast is not shown.
    standard = {"submitted": 400.0, "contracting": 90.0, "matching": 120.0, "extraction": 150.0,
                "cesrees_review": 35.0, "cnil_review": 60.0, "delivered_requests": 20.0}
    DelayBaseline.objects.create(key="target", computed_at=timezone.now(), medians={
        **standard, "routes": {"standard": standard, "reference_methodology": {"delivered_requests": 0.0}}})
    request = make_request(State.SUBMITTED, route=route)
    materialise_request(request.pk)
    assert (row(request.pk).status == "at_risk") is at_risk
    clock = request_clock(AccessRequest.objects.get(pk=request.pk), timezone.now())
    assert (clock.status == "at_risk", clock.forecast_known) == (at_risk, at_risk)


def test_refresh_delays_command_recomputes_open_rows_and_with_all_every_row(story):
    ids = _baseline_history(story)
    story()  # a draft: never a row
    delivered_before = RequestDelay.objects.values().get(pk=ids["a"])

    out = StringIO()
    with time_machine.travel(paris(2024, 9, 1, hour=2), tick=False):
        call_command("refresh_delays", stdout=out)
    assert out.getvalue().strip() == "1 delay rows recomputed"
    assert row(ids["waiting"]).computed_at == paris(2024, 9, 1, hour=2)
    assert row(ids["waiting"]).days_submitted == pytest.approx(149 - 8 / 24)
    assert RequestDelay.objects.values().get(pk=ids["a"]) == delivered_before
    assert DelayBaseline.objects.get(key="target").medians["submitted"] == pytest.approx(7.0)

    out = StringIO()
    with time_machine.travel(paris(2024, 9, 2, hour=2), tick=False):
        call_command("refresh_delays", "--all", stdout=out)
    assert out.getvalue().strip() == "4 delay rows recomputed"
    assert set(RequestDelay.objects.values_list("computed_at", flat=True)) == {paris(2024, 9, 2, hour=2)}
    assert row(ids["a"]).days_cnil_review == 40.0


def test_the_nightly_refresh_is_in_the_beat_schedule_under_a_registered_task_name(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-open-delays-nightly"]
    assert app.conf.beat_schedule["refresh-open-delays-nightly"]["task"] == entry["task"]
    assert entry["task"] in app.tasks
    assert app.tasks[entry["task"]].name == delay_tasks.refresh_open_delays.name
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {30}


def test_every_beat_entry_names_a_registered_task(settings):
    # A misspelt task name in the beat schedule is never run, and nothing says so.
    unknown = {name: job["task"] for name, job in settings.CELERY_BEAT_SCHEDULE.items() if job["task"] not in app.tasks}
    assert unknown == {}


def test_delay_tasks_acknowledge_late_because_they_are_idempotent():
    assert delay_tasks.recompute_request_delay.acks_late is True
    assert delay_tasks.refresh_open_delays.acks_late is True
    assert delay_tasks.recompute_request_delay.name in app.tasks


def test_a_request_on_a_route_without_review_is_not_forecast_through_the_committees(make_request, settings):
    """MR and simplified access go from completeness to contracting: no CESREES or CNIL medians."""
    from access_requests.workflow import Route
    from delays.materialise import materialise_request
    from delays.models import RequestDelay

    medians = {"submitted": 5.0, "cesrees_review": 30.0, "cnil_review": 60.0, "contracting": 40.0,
               "matching": 100.0, "extraction": 80.0}
    for population in ("target", "other"):  # the single-source simplified request is in "other"
        store_baseline(medians, routes=(Route.STANDARD, Route.SIMPLIFIED), key=population)
    standard = make_request("submitted")
    simplified = make_request("submitted", codes=("esnd",), route=Route.SIMPLIFIED)
    for request in (standard, simplified):
        materialise_request(request.pk)
    rows = {r.pk: RequestDelay.objects.get(pk=r.pk) for r in (standard, simplified)}
    days = {pk: (row.forecast_at - row.computed_at).total_seconds() / 86400 for pk, row in rows.items()}
    assert days[standard.pk] == pytest.approx(5 + 30 + 60 + 40 + 100 + 80, abs=0.01)
    assert days[simplified.pk] == pytest.approx(5 + 40 + 80, abs=0.01)  # no committees, no matching
