"""Sign-in with ProConnect, the State's OpenID Connect for professionals, through mozilla-django-oidc.

The library runs the authorisation code flow (state, nonce, PKCE), exchanges the code, checks the
ID token's signature against the issuer's keys (JWKS) and reads the userinfo, as JSON or as a
signed JWT (``application/jwt``, what ProConnect answers), checked against the same keys. This
module adds what is ProConnect's and ours:

- the endpoints from the issuer's discovery document, read when first needed and cached
  (``provider_configuration``); settings give the issuer, the client id and its secret only;
- the ID token's issuer and audience, and the userinfo's ``sub`` equal to the ID token's;
- who the identity signs in as: ``accounts.services.sign_in_with_proconnect`` (the linking rule);
  a refusal is said on the sign-in page, in French or English;
- the views answer 404 while ProConnect is off (``settings.PROCONNECT_ENABLED``);
- the sign-out of a session opened through ProConnect ends ProConnect's too (``end_session_url``,
  called by hdh_access.views.LogoutView through ``OIDC_OP_LOGOUT_URL_METHOD``).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.permissions import signed_in_user
from accounts.services import ProConnectClaims, sign_in_with_proconnect
from hdh_access.lib.errors import DomainError

logger = logging.getLogger(__name__)

# How long the discovery document is kept (endpoints seldom move; the keys are read at each sign-in).
DISCOVERY_CACHE_SECONDS = 3600
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")


class ProviderUnavailable(Exception):
    """The discovery document could not be read or does not describe the configured issuer."""


def provider_configuration() -> dict:
    """The issuer's discovery document (OpenID Connect Discovery 1.0), from the cache or fetched.
    Its ``issuer`` must be the configured one and it must name the endpoints the flow needs."""
    issuer = settings.PROCONNECT_ISSUER
    key = f"hdh:proconnect:discovery:{issuer}"
    document = cache.get(key)
    if document is None:
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ProviderUnavailable(f"{url}: {error}") from error
        if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
            raise ProviderUnavailable(f"{url} describes the issuer {document.get('issuer')!r}, not {issuer!r}"
                                      if isinstance(document, dict) else f"{url}: not a JSON object")
        missing = [name for name in ENDPOINTS if not document.get(name)]
        if missing:
            raise ProviderUnavailable(f"{url} names no {', '.join(missing)}")
        cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def _unavailable(request, error: Exception) -> HttpResponseRedirect:
    logger.error("proconnect: the provider cannot be used: %s", error)
    messages.error(request, _("ProConnect ne répond pas. Réessayez dans quelques minutes, ou connectez-vous avec votre "
                              "adresse électronique et votre mot de passe."))
    return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))


class ProConnectRequestView(OIDCAuthenticationRequestView):
    """/oidc/authenticate/: sends the browser to ProConnect's authorisation endpoint (404 when off)."""

    def get(self, request):
        if not settings.PROCONNECT_ENABLED:
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_configuration()["authorization_endpoint"]
        except ProviderUnavailable as error:
            return _unavailable(request, error)
        return super().get(request)


class ProConnectCallbackView(OIDCAuthenticationCallbackView):
    """/oidc/callback/: where ProConnect sends the browser back (404 when off). A failure goes back
    to the sign-in page, which says why (the backend's message, or a general one)."""

    def get(self, request):
        if not settings.PROCONNECT_ENABLED:
            raise Http404
        return super().get(request)

    @property
    def failure_url(self) -> str:
        return resolve_url(settings.LOGIN_URL)

    def login_failure(self):
        if not len(messages.get_messages(self.request)):  # the backend said nothing (len reads without consuming)
            messages.error(self.request, _("La connexion avec ProConnect n'a pas abouti. Réessayez, ou connectez-vous "
                                           "avec votre adresse électronique et votre mot de passe."))
        return super().login_failure()


class ProConnectBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with ProConnect's endpoints, checks and our linking rule.

    It only signs people in: permissions are the other backends' (``CachedPermissionsBackend``), so
    this one grants none, and its ``get_user`` refuses an inactive user as Django's does.
    """

    def authenticate(self, request, **kwargs):
        # Only the callback view's call (state, nonce, PKCE verifier), never a password form's.
        if request is None or "nonce" not in kwargs or "password" in kwargs or not settings.PROCONNECT_ENABLED:
            return None
        try:
            document = provider_configuration()
            self.OIDC_OP_TOKEN_ENDPOINT = document["token_endpoint"]
            self.OIDC_OP_USER_ENDPOINT = document["userinfo_endpoint"]
            self.OIDC_OP_JWKS_ENDPOINT = document["jwks_uri"]
            return super().authenticate(request, **kwargs)
        except ProviderUnavailable as error:
            _unavailable(request, error)
        except requests.RequestException as error:
            logger.error("proconnect: a call to the provider failed: %s", error)
        except SuspiciousOperation as error:
            logger.warning("proconnect: a token was refused: %s", error)
        return None

    def verify_token(self, token, **kwargs):
        """The library checks the signature (and the nonce of the ID token); the ID token's issuer and
        audience are checked here too (the library leaves them unchecked)."""
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token (a signed userinfo comes without)
            audience = payload.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
            if str(payload.get("iss", "")).rstrip("/") != settings.PROCONNECT_ISSUER:
                raise SuspiciousOperation(f"ID token from the issuer {payload.get('iss')!r}")
            if settings.OIDC_RP_CLIENT_ID not in audiences:
                raise SuspiciousOperation(f"ID token for the audience {audience!r}")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("the userinfo's sub is not the ID token's")
        claims = ProConnectClaims(
            sub=str(payload["sub"]), email=str(userinfo.get("email") or ""),
            email_verified=_verified(userinfo.get("email_verified")),
            given_name=str(userinfo.get("given_name") or ""), usual_name=str(userinfo.get("usual_name") or ""),
            siret=str(userinfo.get("siret") or ""))
        try:
            return sign_in_with_proconnect(issuer=settings.PROCONNECT_ISSUER, claims=claims,
                                           language=translation.get_language() or settings.LANGUAGE_CODE)
        except DomainError as error:
            logger.info("proconnect: sign-in refused (%s): %s", error.code, error.message)
            messages.error(self.request, error.message)
            return None

    def get_user(self, user_id):
        return signed_in_user(self, user_id)  # None for an inactive user, as Django's backend

    def get_user_permissions(self, user_obj, obj=None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj, obj=None) -> set[str]:
        return set()

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        return set()


def _verified(value) -> bool | None:
    """The ``email_verified`` claim: True or False when the provider says (a boolean, or its JSON
    spelling as a string), None when it does not."""
    if isinstance(value, str):
        value = {"true": True, "false": False}.get(value.strip().lower())
    return value if isinstance(value, bool) else None


def end_session_url(request) -> str:
    """Where the sign-out of a session opened through ProConnect sends the browser: ProConnect's
    end-session endpoint, with the session's ID token as hint, then back to the home page. Read
    before the session is flushed (hdh_access.views.LogoutView); empty when it cannot be built."""
    id_token = request.session.get("oidc_id_token")
    if not settings.PROCONNECT_ENABLED or not id_token:
        return ""
    try:
        endpoint = provider_configuration().get("end_session_endpoint")
    except ProviderUnavailable as error:
        logger.error("proconnect: no end-session endpoint: %s", error)
        return ""
    if not endpoint:
        return ""
    return f"{endpoint}?" + urlencode({
        "id_token_hint": id_token, "state": get_random_string(32),
        "post_logout_redirect_uri": request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL)),
    })
