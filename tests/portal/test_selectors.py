"""Portal reads: visibility, completeness, and delay figures evaluated now."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser

from access_requests import services
from access_requests.workflow import Route, State
from delays.materialise import baseline_medians, materialise_request
from portal.selectors import (
    completeness_problems,
    delay_figures,
    history,
    list_rows,
    open_question,
    progress,
    request_for_page,
    request_list,
    requests_for_applicant,
    stage_visits,
)
from tests.portal.conftest import upload

pytestmark = pytest.mark.django_db


def test_an_applicant_sees_their_organisations_requests_and_their_own_only(make_request, applicant, colleague, outsider):
    ours = make_request(State.DRAFT)
    theirs = services.create_draft(actor=outsider, title="Autre projet")
    assert list(requests_for_applicant(colleague)) == [ours]
    assert list(requests_for_applicant(outsider)) == [theirs]
    assert not requests_for_applicant(AnonymousUser()).exists()
    outsider.is_active = False
    assert not requests_for_applicant(outsider).exists()


def test_completeness_lists_every_missing_item_of_an_empty_draft(applicant):
    request = services.create_draft(actor=applicant, title="Projet")
    problems = completeness_problems(request)
    assert len(problems) == 6
    assert any("résumé" in p for p in problems) and any("protocole" in p for p in problems)


def test_a_complete_draft_has_no_completeness_problem(make_request, applicant):
    request = make_request(State.DRAFT)
    services.update_draft(request_id=request.pk, actor=applicant, public_interest="Oui", methodology="Cohorte")
    services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload(), kind="protocol")
    request.refresh_from_db()
    assert completeness_problems(request) == ["Joignez le plan de gestion des données (PDF, ODT ou DOCX)."]
    services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload(), kind="data_management_plan")
    assert completeness_problems(request_for_page(applicant, request.reference)) == []


def test_a_requests_page_is_built_from_one_fetch_without_further_queries(make_request, applicant,
                                                                        django_assert_num_queries):
    request = make_request(State.CESREES_REVIEW)
    materialise_request(request.pk)
    page = request_for_page(applicant, request.reference)
    medians = baseline_medians()  # the forecast baseline: one query of its own
    with django_assert_num_queries(0):
        completeness_problems(page)
        figures = delay_figures(page, medians=medians)
        assert len(stage_visits(figures)) == 2
        assert len(history(page)) == 3
        assert open_question(page) is None


def test_the_list_replays_the_requests_whose_row_lags_together(make_request, applicant):
    """A request just moved has a delay row behind its state until the worker recomputes it: the
    list replays such rows in one go, so its queries do not grow with them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from delays.models import RequestDelay

    current = make_request(State.CESREES_REVIEW)
    materialise_request(current.pk)
    make_request()  # a draft: no figures
    make_request(State.SUBMITTED)  # no row yet: the recompute runs after the commit
    now = timezone.now() + dt.timedelta(days=1)  # after every change below

    def rows():
        page = list(request_list(applicant, q="", sort=""))
        with CaptureQueriesContext(connection) as queries:
            listed = list_rows(page, now=now)
        return page, {row.request.pk: row.figures for row in listed}, len(queries)

    _page, _figures, one_lagging = rows()
    make_request(State.SUBMITTED)
    moved = make_request(State.CESREES_REVIEW)
    materialise_request(moved.pk)
    RequestDelay.objects.filter(request_id=moved.pk).update(state=State.SUBMITTED)  # a row behind its request
    page, figures, three_lagging = rows()

    assert len(page) == 5 and three_lagging == one_lagging
    for request in page:  # the figures the request's own page shows, one by one
        assert figures[request.pk] == delay_figures(request, now=now), request.reference
    assert [request.state for request in page if figures[request.pk] is None] == [State.DRAFT]
    assert figures[moved.pk].current_stage == State.CESREES_REVIEW  # replayed, not read from the stale row


def test_a_drafts_clock_reads_no_baseline(make_request, django_assert_num_queries):
    from django.utils import timezone

    from access_requests.models import AccessRequest
    from delays.clock import request_clock, request_clocks

    draft = AccessRequest.objects.select_related("delay").get(pk=make_request().pk)
    with django_assert_num_queries(0):  # never submitted: no row, and no medians to read
        assert request_clock(draft, timezone.now()) is None
        assert request_clocks([draft, draft], timezone.now()) == {}


def test_elapsed_days_grow_from_the_materialised_row_to_now(make_request):
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC), tick=False):
        request = make_request(State.SUBMITTED)
        materialise_request(request.pk)
    request.refresh_from_db()
    figures = delay_figures(request, now=dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC))
    assert figures.elapsed_days == pytest.approx(10.0)
    assert figures.deadline == dt.date(2026, 8, 5)
    assert figures.status in ("on_track", "at_risk")
    late = delay_figures(request, now=dt.datetime(2026, 8, 6, 9, 0, tzinfo=dt.UTC))
    assert late.status == "late" and late.status_label == "En retard"


def test_progress_follows_the_route_and_matching(make_request, applicant):
    request = make_request(State.CESREES_REVIEW)
    steps = progress(request)
    assert [s.state for s in steps.steps] == ["submitted", "cesrees_review", "cnil_review", "contracting",
                                              "matching", "extraction", "delivered"]
    assert steps.current == 2
    simple = services.create_draft(actor=applicant, title="MR", route=Route.REFERENCE_METHODOLOGY)
    assert [s.state for s in progress(simple).steps] == ["submitted", "contracting", "extraction", "delivered"]
    assert progress(simple).current == 0
    paused = make_request(State.AWAITING_APPLICANT, paused_from=State.CESREES_REVIEW)
    assert progress(paused).current == 2
