"""Queues: what waits on each role, sorted by statutory due date, with badges, filters, pages and CSV."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.workflow import Route, State
from backoffice import views
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)
from tests.conftest import datasets
from tests.downloads import csv_dicts

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2025, 6, 18, 10, 0, tzinfo=PARIS)  # a Wednesday


def queue_refs(client, **params) -> list[str]:
    response = client.get(reverse("backoffice:queue"), params)
    assert response.status_code == 200
    return [row["request"].reference for row in response.context["rows"]]


@pytest.fixture
def every_state(make_request, personas):
    """One request in each state, plus a contracting request for a Curie database only."""
    made = {state: make_request(state) for state in (
        State.SUBMITTED, State.CESREES_REVIEW, State.CNIL_REVIEW, State.CONTRACTING, State.MATCHING,
        State.EXTRACTION, State.DELIVERED, State.CLOSED, State.REJECTED)}
    made["paused"] = make_request(State.AWAITING_APPLICANT, paused_from=State.CESREES_REVIEW)
    curie = services.create_draft(actor=personas["applicant"], title="GIST", datasets=datasets("realigist"))
    services.submit(request_id=curie.pk, actor=personas["applicant"])
    services.forward_to_cesrees(request_id=curie.pk, actor=personas["secretariat"])
    services.record_cesrees_opinion(request_id=curie.pk, actor=personas["cesrees"], opinion="favourable")
    made["curie_contracting"] = services.record_cnil_decision(
        request_id=curie.pk, actor=personas["cnil"], authorised=True, decision_number="DR-7",
        decision_date=dt.date(2025, 1, 2))
    materialise_all()
    return {key: r.reference for key, r in made.items()}


def test_each_role_sees_the_requests_waiting_on_it(client, personas, every_state):
    r = every_state
    expected = {
        "secretariat": {r[State.SUBMITTED], r[State.CONTRACTING], r["curie_contracting"]},
        "cesrees": {r[State.CESREES_REVIEW]},
        "cnil": {r[State.CNIL_REVIEW]},
        "cnam": {r[State.CONTRACTING], r[State.MATCHING], r[State.EXTRACTION]},
        "curie": {r["curie_contracting"]},
        "platform": {r[State.EXTRACTION], r[State.DELIVERED]},
        "management": {r[k] for k in (State.SUBMITTED, State.CESREES_REVIEW, State.CNIL_REVIEW, State.CONTRACTING,
                                      State.MATCHING, State.EXTRACTION, "paused",
                                      "curie_contracting")},
    }
    expected["superuser"] = expected["management"]
    seen = {}
    for who in expected:
        client.force_login(personas[who])
        seen[who] = set(queue_refs(client))
    assert seen == expected


def test_requests_paused_from_a_stage_are_in_that_stages_waiting_on_applicant_list(client, personas, every_state):
    client.force_login(personas["cesrees"])
    assert queue_refs(client, scope="paused") == [every_state["paused"]]
    client.force_login(personas["secretariat"])
    assert queue_refs(client, scope="paused") == []


def test_a_data_holder_never_lists_requests_without_its_datasets(client, personas, every_state):
    client.force_login(personas["curie"])
    assert set(queue_refs(client, scope="all")) == {every_state["curie_contracting"]}
    client.force_login(personas["cnam"])
    assert every_state["curie_contracting"] not in queue_refs(client, scope="all")


@pytest.fixture
def clocks(make_request, personas):
    """Requests entered into their stage on different days, seen on Wednesday 18 June 2025."""
    def at(day: dt.datetime, state, **kwargs):
        with time_machine.travel(day, tick=False):
            return make_request(state, **kwargs)

    made = {
        # 7 working days from Monday 2 June (Whit Monday 9 June is a holiday): due Thursday 12 June.
        "overdue": at(dt.datetime(2025, 6, 2, 9, tzinfo=PARIS), State.SUBMITTED),
        # From Monday 16 June: due Wednesday 25 June, within 5 working days of the 18th.
        "due_soon": at(dt.datetime(2025, 6, 16, 9, tzinfo=PARIS), State.SUBMITTED),
        # CESREES from 17 June: one month, due 17 July.
        "on_time": at(dt.datetime(2025, 6, 17, 9, tzinfo=PARIS), State.CESREES_REVIEW),
        "no_clock": at(dt.datetime(2025, 5, 1, 9, tzinfo=PARIS), State.CONTRACTING),
        "paused": at(dt.datetime(2025, 6, 10, 9, tzinfo=PARIS), State.AWAITING_APPLICANT),
    }
    with time_machine.travel(NOW, tick=False):
        materialise_all()
    return {key: r.reference for key, r in made.items()}


def test_the_queue_is_sorted_by_statutory_due_date_with_days_in_stage_and_a_badge(client, personas, clocks):
    client.force_login(personas["management"])
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("backoffice:queue"))
    rows = {row["request"].reference: row for row in response.context["rows"]}
    order = [row["request"].reference for row in response.context["rows"]]
    assert order == [clocks["overdue"], clocks["due_soon"], clocks["on_time"], clocks["no_clock"], clocks["paused"]]
    assert rows[clocks["overdue"]]["request"].due_date == dt.date(2025, 6, 12)
    assert rows[clocks["due_soon"]]["request"].due_date == dt.date(2025, 6, 25)
    assert rows[clocks["on_time"]]["request"].due_date == dt.date(2025, 7, 17)
    assert {k: rows[clocks[k]]["badge"] for k in clocks} == {
        "overdue": "overdue", "due_soon": "due_soon", "on_time": "on_time", "no_clock": "no_clock", "paused": "paused"}
    assert rows[clocks["overdue"]]["whole_days"] == 16
    html = response.content.decode()
    for label in ("Délai légal dépassé", "Échéance proche", "Dans les délais", "Sans délai légal", "Horloge suspendue"):
        assert label in html


def test_the_badge_filter_keeps_only_requests_with_that_badge(client, personas, clocks):
    client.force_login(personas["management"])
    with time_machine.travel(NOW, tick=False):
        found = {badge: queue_refs(client, badge=badge) for badge in ("overdue", "due_soon", "on_time", "no_clock")}
    assert found == {"overdue": [clocks["overdue"]], "due_soon": [clocks["due_soon"]], "on_time": [clocks["on_time"]],
                     "no_clock": [clocks["no_clock"], clocks["paused"]]}


@pytest.fixture
def varied(personas, make_request):
    """Requests that differ by title, organisation, route, datasets, submission date and assignee."""
    applicant, outsider = personas["applicant"], personas["outsider"]

    def submitted(actor, title, codes, when, route=Route.STANDARD):
        with time_machine.travel(when, tick=False):
            draft = services.create_draft(actor=actor, title=title, datasets=datasets(*codes), route=route)
            return services.submit(request_id=draft.pk, actor=actor)

    made = {
        "avc": submitted(applicant, "Parcours de soins après un AVC", ("snds", "oscour"),
                         dt.datetime(2024, 3, 5, 10, tzinfo=PARIS)),
        "lille": submitted(outsider, "Urgences pendant les vagues de chaleur", ("oscour",),
                           dt.datetime(2025, 2, 10, 10, tzinfo=PARIS)),
        "mr": submitted(applicant, "Antibiotiques chez l'enfant", ("snds",), dt.datetime(2025, 5, 20, 10, tzinfo=PARIS),
                        route=Route.REFERENCE_METHODOLOGY),
        "gist": submitted(applicant, "Tumeurs stromales", ("realigist",), dt.datetime(2025, 6, 2, 10, tzinfo=PARIS)),
    }
    services.assign(request_id=made["avc"].pk, actor=personas["secretariat"], assignee=personas["secretariat"])
    with time_machine.travel(NOW, tick=False):
        materialise_all()
    return made


def test_each_filter_narrows_the_queue(client, personas, varied):
    refs = {key: r.reference for key, r in varied.items()}
    client.force_login(personas["secretariat"])
    snds = datasets("snds")[0].pk
    curie = personas["curie"].profile.data_holder_id
    with time_machine.travel(NOW, tick=False):
        checks = {
            "search by reference": queue_refs(client, q=refs["mr"]),
            "search by title": queue_refs(client, q="vagues de chaleur"),
            "search by organisation": queue_refs(client, q="chu de lille"),
            "route": queue_refs(client, route=Route.REFERENCE_METHODOLOGY),
            "dataset": set(queue_refs(client, dataset=snds)),
            "holder": queue_refs(client, holder=curie),
            "assigned to me": queue_refs(client, assignee="me"),
            "nobody": set(queue_refs(client, assignee="none")),
            "period": set(queue_refs(client, submitted_from="2025-01-01", submitted_to="2025-05-31")),
            "late on the 7 months": queue_refs(client, status="late"),
            "state": queue_refs(client, scope="all", state=State.SUBMITTED, q="Tumeurs"),
        }
    assert checks == {
        "search by reference": [refs["mr"]],
        "search by title": [refs["lille"]],
        "search by organisation": [refs["lille"]],
        "route": [refs["mr"]],
        "dataset": {refs["avc"], refs["mr"]},
        "holder": [refs["gist"]],
        "assigned to me": [refs["avc"]],
        "nobody": {refs["lille"], refs["mr"], refs["gist"]},
        "period": {refs["lille"], refs["mr"]},
        "late on the 7 months": [refs["avc"]],
        "state": [refs["gist"]],
    }


def test_forged_or_invalid_filters_are_ignored_with_a_warning_never_a_500(client, personas, varied):
    client.force_login(personas["secretariat"])
    response = client.get(reverse("backoffice:queue"), {
        "state": "bogus", "dataset": "999999", "submitted_from": "not-a-date", "page": "abc", "sort": "x;DROP",
        "badge": "<script>", "scope": "everything"})
    assert response.status_code == 200
    assert "Certains filtres sont invalides" in response.content.decode()
    assert len(response.context["rows"]) == 4


def test_the_queue_is_paginated_and_pages_keep_the_filters(client, personas, varied, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client.force_login(personas["secretariat"])
    first = client.get(reverse("backoffice:queue"), {"sort": "reference"})
    second = client.get(reverse("backoffice:queue"), {"sort": "reference", "page": 2})
    refs = sorted(r.reference for r in varied.values())
    assert [row["request"].reference for row in first.context["rows"]] == refs[:2]
    assert [row["request"].reference for row in second.context["rows"]] == refs[2:]
    assert 'href="?sort=reference&amp;page=2"' in first.content.decode()


def test_the_csv_export_holds_every_row_of_the_filtered_list(client, personas, varied, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client.force_login(personas["secretariat"])
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("backoffice:export"), {"dataset": datasets("snds")[0].pk, "sort": "reference"})
    assert response.status_code == 200
    assert 'attachment; filename="instruction-2025-06-18.csv"' == response["Content-Disposition"]
    rows = csv_dicts(response)
    assert [r["Référence"] for r in rows] == sorted([varied["avc"].reference, varied["mr"].reference])
    avc = rows[0]
    assert (avc["Bases de données"], avc["État"], avc["Échéance légale"], avc["Situation de l'échéance légale"],
            avc["Situation par rapport à l'objectif"], avc["Attribuée à"], avc["Organisation"]) == (
        "OSCOUR — passages aux urgences, SNDS base principale", "Déposée (recevabilité)", "2024-03-14",
        "Délai légal dépassé", "Objectif dépassé", "secretariat@hdh.example", "Inserm U1018")


def _queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", [reverse("backoffice:queue"), reverse("backoffice:export"),
                                 reverse("backoffice:export_xlsx")])
def test_the_queue_and_its_export_run_the_same_number_of_queries_at_two_sizes(client, personas, make_request, url):
    client.force_login(personas["management"])
    for _ in range(3):
        make_request(State.CESREES_REVIEW)
    # One request assigned already: the assignees are read in one query, whether one or many.
    services.assign(request_id=AccessRequest.objects.last().pk, actor=personas["superuser"],
                    assignee=personas["cesrees"])
    materialise_all()
    client.get(reverse("backoffice:queue"))  # a first page caches the site configuration (as on a server)
    small = _queries(client, url, dataset=datasets("snds")[0].pk)
    for _ in range(9):
        make_request(State.MATCHING)
    services.assign(request_id=AccessRequest.objects.first().pk, actor=personas["superuser"],
                    assignee=personas["cnam"])
    materialise_all()
    large = _queries(client, url, dataset=datasets("snds")[0].pk)
    assert small == large
    assert large <= 13  # the queue page lists the user's saved filters: one query (test_saved_filters.py)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_back_office_page_renders_in_both_languages(client, personas, make_request, language):
    request = make_request(State.CNIL_REVIEW)
    materialise_all()
    client.force_login(personas["superuser"])
    for url in (reverse("backoffice:queue"), reverse("backoffice:detail", args=[request.reference]),
                reverse("backoffice:delays")):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert f'<html lang="{language}"' in response.content.decode()


def test_the_csv_export_neutralises_spreadsheet_formulas_in_free_text(client, personas):
    draft = services.create_draft(actor=personas["applicant"], title='=HYPERLINK("http://evil.example","x")',
                                  datasets=datasets("snds"))
    services.submit(request_id=draft.pk, actor=personas["applicant"])
    client.force_login(personas["secretariat"])
    response = client.get(reverse("backoffice:export"))
    rows = csv_dicts(response)
    assert rows[0]["Titre"] == '\'=HYPERLINK("http://evil.example","x")'
