"""Per-user API tokens in the ``Authorization: Bearer hdh_…`` header (accounts.models.ApiToken).

The browser's session works too (DRF's SessionAuthentication, CSRF-checked for writes).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from accounts import selectors


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        kind, _space, raw = header.partition(" ")
        if kind.lower() != self.keyword:
            return None
        found = selectors.api_token_user(raw.strip())
        if found is None:
            raise exceptions.AuthenticationFailed(_("Jeton d'API invalide, expiré ou révoqué."))
        return found

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
