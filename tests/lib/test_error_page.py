"""A refused write becomes the error page in the middleware (views never catch domain errors)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access_requests.models import AccessRequest
from access_requests.workflow import State
from tests.conftest import with_form_token


@pytest.mark.django_db
def test_a_refused_write_shows_the_message_what_was_typed_and_a_safe_way_back(client, make_request, applicant):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(applicant)
    detail = "http://testserver" + reverse("portal:detail", args=[request.reference])
    response = client.post(reverse("portal:answer", args=[request.reference]),
                           with_form_token(client, {"expected_state": "awaiting_applicant",
                                                    "answer": "Ma réponse détaillée"}),
                           HTTP_REFERER=detail)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Action impossible" in html
    assert "Ce que vous aviez saisi (rien n'a été enregistré)" in html and "Ma réponse détaillée" in html
    assert f'href="{detail}"' in html
    assert "awaiting_applicant" not in html.split("Ce que vous aviez saisi")[1]  # bookkeeping is not echoed


@pytest.mark.django_db
def test_the_way_back_never_leads_off_site(client, make_request, applicant):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(applicant)
    response = client.post(reverse("portal:answer", args=[request.reference]),
                           with_form_token(client, {"expected_state": "awaiting_applicant", "answer": "Réponse"}),
                           HTTP_REFERER="https://evil.example/phish")
    html = response.content.decode()
    assert response.status_code == 409
    assert "evil.example" not in html
    assert 'href="/"' in html


@pytest.mark.django_db
def test_an_incomplete_dossier_lists_what_is_missing(client, applicant, production_completeness):
    client.force_login(applicant)
    client.post(reverse("portal:create"), with_form_token(client, {"title": "Étude", "summary": "Résumé",
                                                                   "route": "standard", "datasets": []}))
    draft = AccessRequest.objects.get()
    response = client.post(reverse("portal:submit", args=[draft.reference]),
                           with_form_token(client, {"expected_state": "draft"}))
    html = response.content.decode()
    assert response.status_code == 400
    assert "<li>Joignez le protocole" in html
    draft.refresh_from_db()
    assert draft.state == State.DRAFT


@pytest.mark.django_db
def test_secrets_are_never_echoed(rf, applicant):
    from hdh_access.middleware import typed_text

    request = rf.post("/", {"password1": "s3cret-Pass", "token": "abc", "csrfmiddlewaretoken": "x",
                            "note": "Une note"})
    assert typed_text(request) == ["Une note"]


@pytest.mark.django_db
def test_an_api_client_gets_json(client, make_request, applicant):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(applicant)
    response = client.post(reverse("portal:answer", args=[request.reference]),
                           with_form_token(client, {"expected_state": "awaiting_applicant", "answer": "Réponse"}),
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    assert response.json()["error"] == "concurrent_update"
