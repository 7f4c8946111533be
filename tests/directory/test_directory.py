"""The public directory: which requests are listed, search, filters, sort, pages, feed, exports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services
from access_requests.workflow import Route, State
from directory.selectors import public_projects

pytestmark = pytest.mark.django_db


def listed(client, **params) -> list[str]:
    response = client.get(reverse("directory:list"), params)
    assert response.status_code == 200
    return [p["reference"] for p in response.context["projects"]]


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.CESREES_REVIEW, State.CNIL_REVIEW])
def test_a_request_before_its_authorisation_is_not_listed(client, project, state):
    request = project(state)
    assert listed(client) == []
    assert client.get(reverse("directory:project", args=[request.reference])).status_code == 404


@pytest.mark.parametrize("state", [State.CONTRACTING, State.EXTRACTION, State.DELIVERED, State.CLOSED])
def test_a_request_from_its_authorisation_on_is_listed(client, project, state):
    request = project(state)
    assert listed(client) == [request.reference]
    page = client.get(reverse("directory:project", args=[request.reference]))
    assert page.status_code == 200
    assert request.title in page.content.decode()


def test_a_reference_methodology_approved_without_review_is_listed(client, project):
    request = project(State.CONTRACTING, codes=("snds",), route=Route.REFERENCE_METHODOLOGY)
    assert listed(client) == [request.reference]
    assert listed(client, route=Route.REFERENCE_METHODOLOGY) == [request.reference]
    assert listed(client, route=Route.STANDARD) == []


def test_rejected_or_withdrawn_before_the_authorisation_never_listed(client, project, personas):
    rejected = project(State.SUBMITTED)
    services.reject(request_id=rejected.pk, actor=personas["secretariat"], reason="Hors champ")
    withdrawn = project(State.CNIL_REVIEW)
    services.withdraw(request_id=withdrawn.pk, actor=personas["applicant"], reason="Abandon")
    refused = project(State.CNIL_REVIEW)
    import datetime as dt
    services.record_cnil_decision(request_id=refused.pk, actor=personas["cnil"], authorised=False,
                                  decision_number="DR-1", decision_date=dt.date(2025, 3, 1))
    assert listed(client) == []


def test_withdrawn_after_the_authorisation_stays_listed(client, project, personas):
    request = project(State.CONTRACTING)
    services.withdraw(request_id=request.pk, actor=personas["applicant"], reason="Financement perdu")
    assert listed(client) == [request.reference]
    assert listed(client, state=State.WITHDRAWN) == [request.reference]


def test_the_project_page_shows_the_public_record(client, project):
    request = project(State.DELIVERED, public_summary="Mieux soigner après un AVC.")
    body = client.get(reverse("directory:project", args=[request.reference])).content.decode()
    for text in ("Mieux soigner après un AVC.", "Inserm U1018", "Caisse nationale", "Données mises à disposition"):
        assert text in body, text
    assert 'hreflang="en"' in body and f"/en/projects/{request.reference}/" in body


def test_the_english_route_renders_in_english_whatever_the_cookie(client, project):
    request = project(State.CONTRACTING)
    client.cookies["django_language"] = "fr"
    body = client.get(reverse("directory:project_en", args=[request.reference])).content.decode()
    assert '<html lang="en"' in body
    assert "Directory of projects" in body or "directory" in body.lower()
    assert f'hreflang="fr" href="/projets/{request.reference}/"' in body
    listing = client.get(reverse("directory:list_en"))
    assert listing.status_code == 200 and listing["Content-Language"] == "en"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_french_full_text_search_stems_words(client, project):
    hospital = project(title="Réadmissions à l'hôpital après une chirurgie")
    project(title="Vaccination des enfants", public_summary="Couverture vaccinale en crèche.")
    assert listed(client, q="hôpitaux") == [hospital.reference]
    assert listed(client, q="vaccinales") != []
    assert listed(client, q="crèche") != [hospital.reference]


def test_search_finds_title_and_public_summary_whatever_the_accents(client, project):
    by_title = project(title="Cancers pédiatriques")
    by_summary = project(title="Étude A", public_summary="Les cancers des enfants.")
    project(title="Vaccination")
    assert set(listed(client, q="cancers")) == {by_title.reference, by_summary.reference}
    assert listed(client, q="pediatriques") == [by_title.reference] or connection.vendor == "postgresql"


def test_filters_by_dataset_holder_and_year(client, project):
    two = project(codes=("snds", "oscour"))
    one = project(codes=("snds",))
    assert set(listed(client, dataset="oscour")) == {two.reference}
    assert set(listed(client, dataset="snds")) == {two.reference, one.reference}
    holder = public_projects().first()
    assert holder is not None
    spf_code = json.loads(public_projects().get(reference=two.reference)["datasets_json"])
    codes = {d["holder_code"] for d in spf_code if d["code"] == "oscour"}
    assert set(listed(client, holder=codes.pop())) == {two.reference}
    year = public_projects().get(reference=one.reference)["decided_at"].year
    assert len(listed(client, year=year)) == 2
    assert listed(client, year=year - 1) == []
    assert len(listed(client, submitted_year=year)) == 2


def test_a_bad_filter_value_is_an_error_on_the_page_not_a_500(client, project):
    project()
    response = client.get(reverse("directory:list"), {"year": "abc", "state": "nope", "sort": "x"})
    assert response.status_code == 200
    assert len(response.context["projects"]) == 1
    assert "fr-error-text" in response.content.decode() or response.context["form"].errors


def test_sort_and_pagination(client, project, settings):
    first = project(title="Bêta")
    second = project(title="Alpha")
    assert listed(client) == [second.reference, first.reference]  # the newest decision first
    assert listed(client, sort="oldest") == [first.reference, second.reference]
    assert listed(client, sort="title") == [second.reference, first.reference]
    from directory import views
    views.PAGE_SIZE, old = 1, views.PAGE_SIZE
    try:
        page2 = client.get(reverse("directory:list"), {"sort": "title", "page": 2})
        assert [p["reference"] for p in page2.context["projects"]] == [first.reference]
        body = page2.content.decode()
        assert 'aria-label="Pagination des projets"' in body and "sort=title&amp;page=1" in body
    finally:
        views.PAGE_SIZE = old


def test_atom_feed_lists_new_projects(client, project):
    request = project(public_summary="Un résumé public.")
    project(State.CNIL_REVIEW, title="Pas encore public")
    response = client.get(reverse("directory:feed"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert request.reference in body and "Un résumé public." in body
    assert "Pas encore public" not in body


def test_csv_export_is_utf8_with_bom_semicolons_and_formula_safe(client, project):
    project(title="=HYPERLINK(\"http://evil\")", public_summary="+malveillant")
    response = client.get(reverse("directory:csv"))
    assert response.status_code == 200
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["reference", "titre", "responsable_traitement", "resume_public"]
    assert rows[1][1].startswith("'=") and rows[1][3].startswith("'+")
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["codes_bases"] in ("oscour | snds", "snds | oscour")
    assert len(record["date_autorisation"]) == 10 and record["date_autorisation"][4] == "-"
    assert record["url"].endswith(f"/projets/{record['reference']}/")


def test_json_export_has_one_object_per_project(client, project):
    request = project(State.DELIVERED)
    project(State.SUBMITTED)
    response = client.get(reverse("directory:json"))
    data = json.loads(b"".join(response.streaming_content))
    assert [row["reference"] for row in data] == [request.reference]
    row = data[0]
    assert row["etat"] == State.DELIVERED and row["date_mise_a_disposition"]
    assert sorted(row["codes_bases"]) == ["oscour", "snds"]


@pytest.mark.parametrize("count", [2, 20])
def test_list_and_project_page_make_a_constant_number_of_queries(client, project, count):
    requests = [project(codes=("snds", "oscour")) for _ in range(count)]
    with CaptureQueriesContext(connection) as listing:
        assert client.get(reverse("directory:list")).status_code == 200
    with CaptureQueriesContext(connection) as page:
        assert client.get(reverse("directory:project", args=[requests[-1].reference])).status_code == 200
    # The catalogue for the filters, the count, the page; the record alone (and the site's DSFR
    # configuration, which the tests do not cache).
    listing_sql = [q["sql"] for q in listing if "dsfr_dsfrconfig" not in q["sql"]]
    page_sql = [q["sql"] for q in page if "dsfr_dsfrconfig" not in q["sql"]]
    assert len(listing_sql) <= 3, listing_sql
    assert len(page_sql) <= 1, page_sql


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_search_expression_is_the_gin_index_one(project):
    """The selector's search expression is the index's (migration 0017): the planner can serve it."""
    from django.contrib.postgres.search import SearchQuery

    from access_requests import publication
    from access_requests.models import AccessRequest

    project(title="Hôpital")
    query = AccessRequest.objects.annotate(search=publication.search_vector()).filter(
        search=SearchQuery("hôpital", config="french", search_type="websearch")).values("pk")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    assert "access_request_public_search_idx" in plan, plan
