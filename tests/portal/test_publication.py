"""The portal shows the applicant what the public directory publishes and lets the team edit the
public summary before the decision and add the results link after it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access_requests.workflow import State
from tests.conftest import with_form_token
from tests.directory.conftest import project  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _post(client, name, request, data):
    return client.post(reverse(f"portal:{name}", args=[request.reference]), with_form_token(client, data))


def test_the_applicant_sees_the_preview_and_edits_the_public_summary_before_the_decision(
        client, applicant, colleague, project):  # noqa: F811
    request = project(State.CNIL_REVIEW)
    client.force_login(colleague)
    page = client.get(reverse("portal:detail", args=[request.reference])).content.decode()
    assert 'id="publication"' in page and "pas encore été rédigé." in page
    response = _post(client, "public_summary", request, {"public_summary": "Mieux soigner après un AVC."})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.public_summary == "Mieux soigner après un AVC."
    page = client.get(reverse("portal:detail", args=[request.reference])).content.decode()
    assert "Mieux soigner après un AVC." in page
    assert f'action="/portal/requests/{request.reference}/results/"' not in page  # not public yet


def test_the_public_summary_is_refused_after_the_decision_with_a_clear_message(client, applicant, project):  # noqa: F811
    request = project(State.CONTRACTING, public_summary="Avant")
    client.force_login(applicant)
    page = client.get(reverse("portal:detail", args=[request.reference])).content.decode()
    assert "Le résumé public ne se modifie plus depuis" in page
    response = _post(client, "public_summary", request, {"public_summary": "Après"})
    assert response.status_code == 409
    assert "Le résumé public ne se modifie plus" in response.content.decode()
    request.refresh_from_db()
    assert request.public_summary == "Avant"


def test_the_team_adds_the_results_link_once_public(client, applicant, project):  # noqa: F811
    request = project(State.DELIVERED)
    client.force_login(applicant)
    response = _post(client, "results_url", request, {"results_url": "https://example.org/article"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.results_url == "https://example.org/article"
    public = client.get(reverse("directory:project", args=[request.reference])).content.decode()
    assert "https://example.org/article" in public
    bad = _post(client, "results_url", request, {"results_url": "javascript:alert(1)"})
    assert bad.status_code == 400
    early = project(State.CNIL_REVIEW)
    assert _post(client, "results_url", early, {"results_url": "https://example.org/x"}).status_code == 409


def test_other_users_cannot_edit_what_is_published(client, outsider, project):  # noqa: F811
    request = project(State.CNIL_REVIEW)
    client.force_login(outsider)
    assert _post(client, "public_summary", request, {"public_summary": "Intrus"}).status_code == 404
    client.logout()
    response = client.post(reverse("portal:public_summary", args=[request.reference]), {"public_summary": "Intrus"})
    assert response.status_code == 302 and "login" in response["Location"]
    request.refresh_from_db()
    assert request.public_summary == ""


def test_the_preview_is_the_directory_record(client, applicant, project):  # noqa: F811
    request = project(State.DELIVERED, public_summary="Texte public")
    client.force_login(applicant)
    preview = client.get(reverse("portal:detail", args=[request.reference])).context["public_preview"].record
    public = client.get(reverse("directory:project", args=[request.reference])).context["project"]
    assert preview == public
