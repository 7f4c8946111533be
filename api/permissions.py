"""Who may call the API: any signed-in user (what they see is the pages' visibility,
api.selectors); a read-scoped token never writes."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions

from accounts.models import ApiScope, ApiToken


class SignedInWithScope(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token = request.auth
        if (isinstance(token, ApiToken) and token.scope != ApiScope.WRITE
                and request.method not in permissions.SAFE_METHODS):
            raise exceptions.PermissionDenied(_("Ce jeton d'API est en lecture seule : créez un jeton en écriture."),
                                              code="read_only_token")
        return True
