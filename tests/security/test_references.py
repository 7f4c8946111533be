"""A request reference matches one documented pattern (issue #13): the model and the database
refuse any other, the history import names the line and writes nothing, and a URL carrying
another is a 404 before any view runs (never a 500)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.urls import NoReverseMatch, reverse

from access_requests.history_import import HistoryImportError, import_history
from access_requests.models import AccessRequest, Event
from access_requests.references import is_valid_reference
from access_requests.workflow import State

pytestmark = pytest.mark.django_db

HOSTILE = ["=HYPERLINK(\"http://evil.example\")", "a/b", "a\tb", "a b", "-lead", ".hidden", "_x", "é-1",
           "HDH-1\n", "x" * 33, "+33", "@cmd", ""]
FINE = ["HDH-2025-0001", "LEGACY-17", "a", "A.b_c-9", "7", "x" * 32]


@pytest.mark.parametrize("reference", FINE)
def test_references_of_the_pattern_are_accepted(reference):
    assert is_valid_reference(reference)


@pytest.mark.parametrize("reference", HOSTILE)
def test_references_outside_the_pattern_are_refused(reference):
    assert not is_valid_reference(reference)


@pytest.mark.parametrize("reference", ["a/b", "=1+1", "a b", "HDH-1\n"])
def test_the_model_validator_refuses_a_reference_outside_the_pattern(make_request, reference):
    request = make_request(State.DRAFT)
    with pytest.raises(ValidationError) as caught:
        AccessRequest._meta.get_field("reference").clean(reference, request)
    assert [error.code for error in caught.value.error_list] == ["invalid_reference"]


@pytest.mark.parametrize("reference", ["a/b", "=1+1", "a\tb", "HDH-1\n", "x" * 33])
def test_the_database_refuses_a_reference_outside_the_pattern_whatever_writes_it(make_request, reference):
    request = make_request(State.DRAFT)
    # A check-constraint violation (or, past 32 characters on PostgreSQL, a too-long value): never stored.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        AccessRequest.objects.filter(pk=request.pk).update(reference=reference)
    request.refresh_from_db()
    assert request.reference != reference


def test_the_import_names_the_line_of_a_hostile_reference_and_writes_nothing(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "reference,at,state,datasets,requires_matching,title\n"
        "HDH-2024-0001,2024-01-10T09:00:00+01:00,submitted,snds,,Cohorte AVC\n"
        "\"=HYPERLINK(\"\"http://x.fr\"\")\",2024-01-10T09:00:00+01:00,submitted,snds,,Piège\n"
        "a/b,2024-01-10T09:00:00+01:00,submitted,snds,,Barre oblique\n"
        "\"a\tb\",2024-01-10T09:00:00+01:00,submitted,snds,,Tabulation\n",
        encoding="utf-8")
    before = (AccessRequest.objects.count(), Event.objects.count())
    with pytest.raises(HistoryImportError) as caught:
        import_history(path)
    assert (AccessRequest.objects.count(), Event.objects.count()) == before
    refused = {issue.line: issue.message for issue in caught.value.issues}
    assert set(refused) == {3, 4, 5}
    assert all("référence invalide" in message for message in refused.values()), refused


@pytest.mark.parametrize("path", [
    "/portal/requests/a%2Fb/", "/portal/requests/=HYPERLINK(1)/", "/portal/requests/a%09b/edit/",
    "/backoffice/requests/a%2Fb/", "/backoffice/requests/-x/", "/backoffice/requests/%20x/notes/",
    "/portal/requests/" + "x" * 33 + "/",
])
def test_a_url_with_a_reference_outside_the_pattern_is_a_404(client, personas, path):
    client.force_login(personas["secretariat"] if path.startswith("/backoffice") else personas["applicant"])
    assert client.get(path).status_code == 404


def test_the_urls_of_a_request_still_resolve_for_a_reference_of_the_pattern(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    assert client.get(reverse("backoffice:detail", args=[request.reference])).status_code == 200
    with pytest.raises(NoReverseMatch):
        reverse("backoffice:detail", args=["a/b"])
