from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from tests.backoffice.helpers import backoffice_settings  # noqa: F401  (autouse)


@pytest.fixture
def api():
    return APIClient()


def token_for(user, scope: str = "write") -> str:
    _token, raw = account_services.create_api_token(actor=user, name="tests", scope=scope)
    return raw


def as_user(api: APIClient, user, scope: str = "write") -> APIClient:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scope)}")
    return api
