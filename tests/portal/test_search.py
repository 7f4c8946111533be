"""The applicant's list: search by reference or title, sort, kept across pages and filters."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests.models import AccessRequest
from access_requests.workflow import State
from delays.materialise import materialise_request
from hdh_access.lib.search import forget_unaccent
from portal import selectors
from portal.views import PAGE_SIZE

LIST = reverse("portal:list")


def _titled(make_request, title: str, state: str = State.DRAFT) -> AccessRequest:
    request = make_request(state)
    AccessRequest.objects.filter(pk=request.pk).update(title=title)
    request.refresh_from_db()
    return request


@pytest.fixture
def unaccent(django_db_blocker):
    """PostgreSQL's unaccent extension in the test database (a test using it fails elsewhere, never skips)."""
    if connection.vendor != "postgresql":
        pytest.fail("unaccent is PostgreSQL's: run this test on PostgreSQL (`make test` does)", pytrace=False)
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    forget_unaccent()
    yield
    forget_unaccent()


def _titles(response) -> list[str]:
    return [row.request.title for row in response.context["rows"]]


def test_the_search_finds_a_request_by_a_part_of_its_title_whatever_the_case(client, make_request, applicant):
    _titled(make_request, "Parcours de soins après un AVC")
    _titled(make_request, "Cancers du sein et chimiothérapie")
    client.force_login(applicant)
    response = client.get(LIST, {"q": "CANCERS du"})
    assert response.status_code == 200
    assert _titles(response) == ["Cancers du sein et chimiothérapie"]


def test_the_search_finds_a_request_by_its_reference(client, make_request, applicant):
    wanted = make_request(State.SUBMITTED)
    make_request(State.SUBMITTED)
    client.force_login(applicant)
    response = client.get(LIST, {"q": wanted.reference.lower()})
    assert [row.request.pk for row in response.context["rows"]] == [wanted.pk]


def test_the_search_ignores_accents_where_postgresql_has_unaccent(client, make_request, applicant, unaccent):
    _titled(make_request, "Réhospitalisations après chirurgie")
    _titled(make_request, "Parcours de soins")
    client.force_login(applicant)
    assert _titles(client.get(LIST, {"q": "rehospitalisation"})) == ["Réhospitalisations après chirurgie"]
    assert _titles(client.get(LIST, {"q": "CHIRURGÏE"})) == ["Réhospitalisations après chirurgie"]


def test_the_search_never_shows_another_organisations_request(client, make_request, outsider):
    _titled(make_request, "Cancers du sein")
    client.force_login(outsider)
    response = client.get(LIST, {"q": "cancer"})
    assert response.context["rows"] == []
    assert "Aucune demande ne correspond à votre recherche" in response.content.decode()


@pytest.mark.parametrize("q", ["'", '"; DROP TABLE x; --', "%_%", "a & b | !c", "é" * 200])
def test_hostile_searches_are_answered_without_error(client, make_request, applicant, q):
    _titled(make_request, "Cancers du sein")
    client.force_login(applicant)
    response = client.get(LIST, {"q": q})
    assert response.status_code == 200
    assert response.context["rows"] == []


def test_a_search_longer_than_allowed_is_a_form_error_shown_in_the_summary(client, make_request, applicant):
    _titled(make_request, "Cancers du sein")
    client.force_login(applicant)
    response = client.get(LIST, {"q": "x" * 500})
    assert response.status_code == 200
    assert "q" in response.context["form"].errors
    assert 'id="form-errors"' in response.content.decode()
    assert _titles(response) == ["Cancers du sein"]  # the bad search is ignored, not applied


@pytest.mark.parametrize("sort, expected", [
    ("title", ["Alpha", "bêta", "Gamma"]),
    ("-title", ["Gamma", "bêta", "Alpha"]),
])
def test_the_list_sorts_by_title_without_case(client, make_request, applicant, sort, expected):
    for title in ("Gamma", "Alpha", "bêta"):
        _titled(make_request, title)
    client.force_login(applicant)
    assert _titles(client.get(LIST, {"sort": sort})) == expected


def test_the_list_sorts_by_reference_state_and_dates(client, make_request, applicant):
    first = _titled(make_request, "Premier", State.CESREES_REVIEW)
    second = _titled(make_request, "Second", State.DRAFT)
    client.force_login(applicant)
    by_reference = sorted([first, second], key=lambda r: r.reference)
    assert _titles(client.get(LIST, {"sort": "reference"})) == [r.title for r in by_reference]
    assert _titles(client.get(LIST, {"sort": "-reference"})) == [r.title for r in reversed(by_reference)]
    assert _titles(client.get(LIST, {"sort": "state"})) == ["Second", "Premier"]  # a draft comes first in the procedure
    assert _titles(client.get(LIST, {"sort": "-state"})) == ["Premier", "Second"]
    assert _titles(client.get(LIST, {"sort": "created"})) == ["Premier", "Second"]
    assert _titles(client.get(LIST, {"sort": "-created"})) == ["Second", "Premier"]
    AccessRequest.objects.filter(pk=first.pk).update(title="Premier")  # touches nothing: updated_at is auto_now on save
    first.save()
    assert _titles(client.get(LIST, {"sort": "-updated"})) == ["Premier", "Second"]
    assert _titles(client.get(LIST, {"sort": "updated"})) == ["Second", "Premier"]


def test_an_unknown_sort_is_a_form_error_and_keeps_the_default_order(client, make_request, applicant):
    _titled(make_request, "Under way", State.CESREES_REVIEW)
    _titled(make_request, "Waiting on you", State.AWAITING_APPLICANT)
    client.force_login(applicant)
    response = client.get(LIST, {"sort": "password", "filter": "nonsense"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"sort"}
    assert 'id="form-errors"' in response.content.decode()
    assert _titles(response) == ["Waiting on you", "Under way"]


def test_the_search_and_sort_are_kept_across_pages_and_filter_tags(client, make_request, applicant):
    for index in range(PAGE_SIZE + 2):
        _titled(make_request, f"Cancer {index:02d}")
    _titled(make_request, "Autre sujet")
    client.force_login(applicant)
    response = client.get(LIST, {"q": "cancer", "sort": "title"})
    html = response.content.decode()
    assert response.context["page"].paginator.count == PAGE_SIZE + 2
    assert "?q=cancer&amp;sort=title&amp;page=2" in html
    assert "?filter=ended&amp;q=cancer&amp;sort=title" in html
    second = client.get(LIST, {"q": "cancer", "sort": "title", "page": 2})
    assert _titles(second) == [f"Cancer {PAGE_SIZE:02d}", f"Cancer {PAGE_SIZE + 1:02d}"]


def test_the_search_form_has_labels_and_no_inline_style_or_script(client, applicant):
    client.force_login(applicant)
    html = client.get(LIST).content.decode()
    assert '<label for="id_q" class="fr-label">' in html and '<label for="id_sort" class="fr-label">' in html
    assert 'role="search"' in html
    assert "style=" not in html and "<script>" not in html


def test_a_search_runs_the_same_number_of_queries_for_2_or_12_matches(client, make_request, applicant,
                                                                      django_assert_num_queries):
    for _ in range(2):
        materialise_request(_titled(make_request, "Cancer", State.SUBMITTED).pk)
    client.force_login(applicant)
    client.get(LIST, {"q": "cancer", "sort": "-updated"})  # warm the session, content types and the unaccent check
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST, {"q": "cancer", "sort": "-updated"}).status_code == 200
    for _ in range(10):
        materialise_request(_titled(make_request, "Cancer", State.SUBMITTED).pk)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(LIST, {"q": "cancer", "sort": "-updated"})
    assert len(response.context["rows"]) == 12


def test_the_selector_applies_the_search_and_sort_on_its_own(make_request, applicant):
    _titled(make_request, "Bêta")
    _titled(make_request, "Alpha")
    assert [r.title for r in selectors.request_list(applicant, q="a", sort="-title")] == ["Bêta", "Alpha"]
    assert [r.title for r in selectors.request_list(applicant, q="alp")] == ["Alpha"]
