"""The claims of ProConnect's scopes, from the user and their ``Identity``."""

from oidc_provider.lib.claims import ScopeClaims

from tests.oidc_provider.models import Identity


def _identity(user) -> Identity:
    return Identity.objects.filter(user=user).first() or Identity(user=user)


def userinfo(claims: dict, user) -> dict:
    """django-oidc-provider's OIDC_USERINFO: the standard claims (scope ``email``)."""
    claims["email"] = user.email
    claims["email_verified"] = _identity(user).email_verified  # None is left out of the answer
    return claims


class ProConnectScopeClaims(ScopeClaims):
    """ProConnect's scopes, each giving the claim of its name (the "identité pivot")."""

    def scope_given_name(self):
        return {"given_name": self.user.first_name}

    def scope_usual_name(self):
        return {"usual_name": self.user.last_name}

    def scope_siret(self):
        return {"siret": _identity(self.user).siret}

    def scope_uid(self):
        return {"uid": _identity(self.user).uid}
