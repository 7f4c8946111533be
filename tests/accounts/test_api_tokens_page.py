"""The profile page's API tokens: created (shown once), listed, revoked; the API follows."""

from __future__ import annotations

import re

from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.conftest import with_form_token


def _create(client, **fields):
    data = {"name": "Script de suivi", "scope": "read", "days": "30", **fields}
    return client.post(reverse("accounts:create_api_token"), with_form_token(client, data))


def test_a_token_is_created_shown_once_and_works(client, applicant):
    client.force_login(applicant)
    response = _create(client)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    raw = re.search(r'<code id="new-api-token">(hdh_[^<]+)</code>', page)[1]
    assert "Script de suivi" in page
    assert "new-api-token" not in client.get(reverse("accounts:profile")).content.decode()  # once
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/requests/").status_code == 200
    token = ApiToken.objects.get(user=applicant)
    assert (token.scope, (token.expires_at - token.created_at).days) == ("read", 30)


def test_a_second_click_on_the_same_form_creates_one_token(client, applicant):
    client.force_login(applicant)
    data = with_form_token(client, {"name": "CI", "scope": "write", "days": "90"})
    first = client.post(reverse("accounts:create_api_token"), data)
    second = client.post(reverse("accounts:create_api_token"), data)
    assert first.status_code == second.status_code == 302
    assert ApiToken.objects.filter(user=applicant).count() == 1


def test_invalid_values_show_the_form_again_and_create_nothing(client, applicant):
    client.force_login(applicant)
    response = _create(client, name="", days="1000")
    assert response.status_code == 400
    assert "Donnez un nom au jeton." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_revoked_token_no_longer_opens_the_api(client, applicant, colleague):
    client.force_login(applicant)
    _create(client)
    raw = re.search(r'id="new-api-token">(hdh_[^<]+)<', client.get(reverse("accounts:profile")).content.decode())[1]
    token = ApiToken.objects.get(user=applicant)
    client.force_login(colleague)
    refused = client.post(reverse("accounts:revoke_api_token", args=[token.pk]), with_form_token(client))
    assert refused.status_code == 404
    client.force_login(applicant)
    done = client.post(reverse("accounts:revoke_api_token", args=[token.pk]), with_form_token(client))
    assert done.status_code == 302
    assert "Révoqué" in client.get(reverse("accounts:profile")).content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/requests/").status_code == 401
