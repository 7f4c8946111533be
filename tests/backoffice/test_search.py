"""The reviewers' search (backoffice.selectors.search): French full text on PostgreSQL, a plain
filter elsewhere, over references, titles, organisations and people."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.workflow import State
from backoffice import selectors
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)

QUEUE = reverse("backoffice:queue")
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL's")


@pytest.fixture
def dossiers(make_request, personas):
    """Three submitted requests: different titles, organisations, applicants and assignees."""
    cancer = make_request(State.SUBMITTED)
    AccessRequest.objects.filter(pk=cancer.pk).update(title="Parcours de soins du cancer du sein")
    rehosp = make_request(State.SUBMITTED)
    AccessRequest.objects.filter(pk=rehosp.pk).update(title="Réhospitalisations après une chirurgie cardiaque")
    lille = make_request(State.SUBMITTED)
    AccessRequest.objects.filter(pk=lille.pk).update(
        title="Urgences pendant les vagues de chaleur", organisation=personas["outsider"].profile.organisation,
        applicant=personas["outsider"])
    get_user_model().objects.filter(pk=personas["outsider"].pk).update(first_name="Amélie", last_name="Durand-Vasseur")
    get_user_model().objects.filter(pk=personas["secretariat"].pk).update(first_name="Paul", last_name="Kerbrat")
    services.assign(request_id=rehosp.pk, actor=personas["secretariat"], assignee=personas["secretariat"])
    materialise_all()
    return {"cancer": cancer.reference, "rehosp": rehosp.reference, "lille": lille.reference}


def found(text: str, *, full_text: bool | None = None) -> set[str]:
    return set(selectors.search(AccessRequest.objects.all(), text, full_text=full_text)
               .values_list("reference", flat=True))


@postgresql_only
@pytest.mark.parametrize("text, key", [
    ("cancers", "cancer"),  # French stemming: a plural finds the singular
    ("réhospitalisation", "rehosp"),  # and the singular, the plural
    ("chirurgies cardiaques", "rehosp"),
    ("vague de chaleur", "lille"),
    ("CHU Lille", "lille"),  # the organisation's name
    ("Durand-Vasseur", "lille"),  # the applicant's last name
    ("Kerbrat", "rehosp"),  # the assignee's last name
])
def test_the_french_full_text_search_finds_stems_organisations_and_people(dossiers, text, key):
    assert found(text) == {dossiers[key]}


@postgresql_only
def test_a_reference_or_its_beginning_finds_the_request(dossiers):
    reference = dossiers["cancer"]
    assert found(reference.lower()) == {reference}
    prefix = reference.rsplit("-", 1)[0]
    assert found(prefix) == set(dossiers.values())


@pytest.mark.parametrize("text, key", [
    ("cancer du sein", "cancer"),
    ("RÉHOSPITALISATIONS", "rehosp"),
    ("chu de lille", "lille"),
    ("durand", "lille"),
    ("kerbrat", "rehosp"),
    ("chu-lille.example", "lille"),  # the applicant's email address
])
def test_the_plain_filter_finds_a_part_of_any_field_whatever_the_case(dossiers, text, key):
    assert found(text, full_text=False) == {dossiers[key]}


def test_the_plain_filter_has_no_stemming(dossiers):
    assert found("cancers", full_text=False) == set()


@pytest.mark.parametrize("full_text", [
    pytest.param(None, marks=postgresql_only), False])
@pytest.mark.parametrize("text", [
    "'", '"', '"cancer', "cancer & | ! sein", "!!!", "&|!():*<->", "a' OR 1=1 --", "le la les de", "%_\\",
    "cancer " * 80, "x" * 500,
])
def test_hostile_text_never_raises(dossiers, text, full_text):
    found(text, full_text=full_text)  # evaluates the query: an error would raise here


@pytest.mark.parametrize("text", ['"; DROP TABLE x; --', "&|!", "cancer & sein | !", "é" * 500])
def test_the_queue_answers_any_search_without_error(client, personas, dossiers, text):
    client.force_login(personas["secretariat"])
    response = client.get(QUEUE, {"q": text, "scope": "all"})
    assert response.status_code == 200


def test_the_queue_searches_people_and_organisations(client, personas, dossiers):
    client.force_login(personas["secretariat"])
    response = client.get(QUEUE, {"q": "Durand-Vasseur", "scope": "all"})
    assert [row["request"].reference for row in response.context["rows"]] == [dossiers["lille"]]


def test_the_search_keeps_the_data_holders_visibility(client, personas, dossiers):
    client.force_login(personas["curie"])  # no request asks for a Curie dataset
    response = client.get(QUEUE, {"q": "cancer", "scope": "all"})
    assert response.context["rows"] == []


def test_a_search_runs_the_same_number_of_queries_for_few_or_many_matches(client, personas, make_request,
                                                                          django_assert_num_queries):
    for _ in range(2):
        make_request(State.SUBMITTED)
    materialise_all()
    client.force_login(personas["secretariat"])
    params = {"q": "parcours soins", "scope": "all"}
    client.get(QUEUE, params)  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE, params).status_code == 200
    for _ in range(6):
        make_request(State.SUBMITTED)
    materialise_all()
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(QUEUE, params)
    assert len(response.context["rows"]) == 8
