"""Hostile input gets a clear 400 or 404, never a 500, and nothing is written (issue #13)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from access_requests.models import AccessRequest
from access_requests.workflow import State
from tests.conftest import with_form_token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who, path", [
    ("applicant", "/portal/requests/HDH%00-2025-0001/"),
    ("secretariat", "/backoffice/requests/HDH-2025%00/"),
    ("secretariat", "/backoffice/?q=abc%00def"),
    ("secretariat", "/backoffice/?state=%00"),
    ("applicant", "/portal/?q=%00"),
])
def test_a_nul_in_the_path_or_the_query_string_is_a_clear_400(client, personas, who, path):
    client.force_login(personas[who])
    response = client.get(path)
    assert response.status_code == 400
    assert "caractère interdit (NUL)" in response.content.decode()


def test_a_nul_answers_json_to_an_api_client(client, personas):
    client.force_login(personas["secretariat"])
    response = client.get("/backoffice/?q=%00", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"


def test_a_nul_in_a_posted_field_writes_nothing(client, personas):
    client.force_login(personas["applicant"])
    before = AccessRequest.objects.count()
    response = client.post(reverse("portal:create"), {"title": "Cohorte\x00AVC", "route": "standard"})
    assert response.status_code == 400
    assert AccessRequest.objects.count() == before


@pytest.mark.parametrize("value", ["123456789012345678901234567890", "-1", "1e5", "abc"])
def test_an_absurd_dataset_id_is_a_form_error(client, personas, value):
    client.force_login(personas["applicant"])
    before = AccessRequest.objects.count()
    response = client.post(reverse("portal:create"), with_form_token(client, {"title": "Cohorte AVC", "route": "standard",
                                                                              "datasets": [value]}))
    assert response.status_code == 400
    # French typography: non-breaking spaces inside the quotes and before the colon.
    assert re.search(rf"Bases de données demandées\s*:\s*«\s*{re.escape(value)}\s*»\s*n’est pas une valeur correcte",
                     response.content.decode())
    assert AccessRequest.objects.count() == before


def test_pages_of_a_signed_in_user_are_never_cached(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    anonymous = client.get("/")
    assert "no-store" not in anonymous.get("Cache-Control", "")
    client.force_login(personas["applicant"])
    for path in ("/", reverse("portal:list"), reverse("portal:detail", args=[request.reference])):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], path
    client.force_login(personas["secretariat"])
    for path in (reverse("backoffice:queue"), reverse("backoffice:export")):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
