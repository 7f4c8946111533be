"""Sign-in with ProConnect (accounts/proconnect.py, accounts.services.sign_in_with_proconnect), against a
real OpenID Connect provider in a second process (tests/oidc_provider): the whole flow, from our
/oidc/authenticate/ through the provider's sign-in and consent pages to our callback, over HTTP with a
``requests`` session following the redirects, as a browser does. No part of the client is mocked."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.urls import reverse

from accounts import services
from accounts.models import MembershipRequest, MembershipStatus, Organisation, ProConnectIdentity
from hdh_access.lib.errors import ActionNotPermitted
from notifications.models import OutboxMessage
from tests.conftest import PASSWORD, PROCONNECT_JSON_CLIENT, make_user
from tests.oidc_provider.runner import PROVIDER_PASSWORD
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
INSERM_SIRET = "18007003900014"
LILLE_SIRET = "26590013200010"


# --- a browser's part, over HTTP --------------------------------------------------------------------
def _submit(session: requests.Session, page: requests.Response, values: dict, *,
            form: str = "//form") -> requests.Response:
    """Post the page's first ``form`` (an XPath) as a browser would: its fields and ``values``, to its action."""
    form = lxml.html.fromstring(page.text).xpath(form)[0]
    return session.post(urljoin(page.url, form.action or page.url), data={**dict(form.form_values()), **values},
                        timeout=30)


def sign_in(live_server, provider, email: str, *, session: requests.Session | None = None,
            next_url: str = "") -> requests.Response:
    """Follow "S'identifier avec ProConnect" (from a page asking for ``next_url``), sign in at the
    provider as ``email`` and consent; the page the browser ends on, redirects followed."""
    session = session if session is not None else requests.Session()
    page = session.get(f"{live_server.url}/oidc/authenticate/", params={"next": next_url} if next_url else None,
                       timeout=30)
    if urlsplit(page.url).path == "/login/":  # the provider's sign-in page
        assert page.url.startswith(provider.url), page.url
        page = _submit(session, page, {"username": email, "password": PROVIDER_PASSWORD})
    assert page.url.startswith(f"{provider.issuer}/authorize"), page.url  # its consent page
    return _submit(session, page, {"allow": "Authorize"})


def signed_in_user(live_server, session: requests.Session) -> User | None:
    """The account the session is signed in to on our site: None unless a signed-in page answers."""
    page = session.get(f"{live_server.url}{reverse('accounts:profile')}", allow_redirects=False, timeout=30)
    if page.status_code != 200:
        return None
    store = import_module(django_settings.SESSION_ENGINE).SessionStore(session_key=session.cookies["sessionid"])
    return User.objects.get(pk=store.load()[SESSION_KEY])


def alert(page: requests.Response) -> str:
    """The text of the page's messages (the DSFR alerts above its content)."""
    return " ".join(" ".join(lxml.html.fromstring(page.text).xpath("//div[contains(@class, 'fr-alert')]//text()"))
                    .split())


def is_login_page(live_server, page: requests.Response) -> bool:
    return page.url.split("?")[0] == f"{live_server.url}{reverse('login')}"


@pytest.fixture
def inserm(db):
    return Organisation.objects.create(name="Inserm U1018", siret=INSERM_SIRET)


# --- signing in ---------------------------------------------------------------------------------------
def test_an_existing_account_is_signed_in_by_its_verified_address_whatever_its_case_and_linked(
        live_server, proconnect, inserm):
    applicant = make_user("porteur@inserm.example", organisation=inserm)
    sub = proconnect.add_user("Porteur@INSERM.example", siret=INSERM_SIRET)
    session = requests.Session()

    page = sign_in(live_server, proconnect, "Porteur@INSERM.example", session=session)

    assert page.status_code == 200 and page.url == f"{live_server.url}{reverse('portal:list')}"
    assert signed_in_user(live_server, session) == applicant
    link = ProConnectIdentity.objects.get()
    assert (link.user, link.issuer, link.sub) == (applicant, proconnect.issuer, sub)


def test_the_userinfo_is_read_as_json_too(live_server, proconnect, settings, inserm):
    """ProConnect answers a signed JWT (the client above); a provider answering JSON works the same."""
    settings.PROCONNECT_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = PROCONNECT_JSON_CLIENT
    applicant = make_user("json@inserm.example", organisation=inserm)
    proconnect.add_user("json@inserm.example", siret=INSERM_SIRET)
    session = requests.Session()

    page = sign_in(live_server, proconnect, "json@inserm.example", session=session, next_url="/accounts/profile/")

    assert page.url == f"{live_server.url}/accounts/profile/"  # the page that asked for the sign-in
    assert signed_in_user(live_server, session) == applicant


def test_a_linked_identity_signs_in_by_its_sub_first_whatever_the_address_has_become(live_server, proconnect, inserm):
    applicant = make_user("ancienne@inserm.example", organisation=inserm)
    proconnect.add_user("ancienne@inserm.example", siret=INSERM_SIRET)
    sign_in(live_server, proconnect, "ancienne@inserm.example")
    User.objects.filter(pk=applicant.pk).update(username="nouvelle@inserm.example", email="nouvelle@inserm.example")
    make_user("ancienne@inserm.example")  # someone else now has the old address here
    session = requests.Session()

    sign_in(live_server, proconnect, "ancienne@inserm.example", session=session)

    assert signed_in_user(live_server, session) == applicant
    assert ProConnectIdentity.objects.count() == 1


def test_a_new_person_gets_an_active_account_without_password_asking_to_join_the_organisation_of_their_siret(
        live_server, proconnect, inserm):
    member = make_user("membre@inserm.example", organisation=inserm)
    sub = proconnect.add_user("Nouvelle@Inserm.example", siret="180 070 039 00014", given_name="Rosalind",
                              usual_name="Franklin")
    session = requests.Session()

    page = sign_in(live_server, proconnect, "Nouvelle@Inserm.example", session=session)

    user = signed_in_user(live_server, session)
    assert page.status_code == 200 and user is not None
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "nouvelle@inserm.example", "nouvelle@inserm.example", "Rosalind", "Franklin")
    assert user.is_active and not user.has_usable_password()
    # As at sign-up, the organisation is joined once a member approves; its members are told.
    assert user.profile.organisation is None
    membership = MembershipRequest.objects.get(user=user)
    assert (membership.organisation, membership.status) == (inserm, MembershipStatus.PENDING)
    assert OutboxMessage.objects.filter(to=member.email).count() == 1
    assert ProConnectIdentity.objects.get(user=user).sub == sub


def test_a_new_person_whose_siret_is_unknown_gets_an_account_without_organisation(live_server, proconnect):
    proconnect.add_user("seule@labo.example", siret=LILLE_SIRET)
    session = requests.Session()

    sign_in(live_server, proconnect, "seule@labo.example", session=session)

    user = signed_in_user(live_server, session)
    assert user is not None and user.profile.organisation is None
    assert not MembershipRequest.objects.exists()


# --- refusals: said on the sign-in page, nothing recorded ---------------------------------------------
def test_an_organisation_s_siret_other_than_proconnect_s_is_refused_with_a_clear_message(
        live_server, proconnect, inserm):
    make_user("porteur@inserm.example", organisation=inserm)
    proconnect.add_user("porteur@inserm.example", siret=LILLE_SIRET)
    session = requests.Session()

    page = sign_in(live_server, proconnect, "porteur@inserm.example", session=session)

    assert is_login_page(live_server, page)
    assert (f"ProConnect vous identifie pour l'organisation de SIRET {LILLE_SIRET}, et votre compte appartient à "
            f"« Inserm U1018 » (SIRET {INSERM_SIRET})") in alert(page)
    assert signed_in_user(live_server, session) is None
    assert not ProConnectIdentity.objects.exists()


def test_an_inactive_account_is_refused(live_server, proconnect, inserm):
    make_user("partie@inserm.example", organisation=inserm, is_active=False)
    proconnect.add_user("partie@inserm.example", siret=INSERM_SIRET)
    session = requests.Session()

    page = sign_in(live_server, proconnect, "partie@inserm.example", session=session)

    assert is_login_page(live_server, page)
    assert "Ce compte n'est pas actif" in alert(page)
    assert signed_in_user(live_server, session) is None
    assert not ProConnectIdentity.objects.exists()
    # In English for a browser that asks for English.
    english = requests.Session()
    english.headers["Accept-Language"] = "en"
    page = sign_in(live_server, proconnect, "partie@inserm.example", session=english)
    assert "This account is not active" in alert(page)


def test_an_address_the_provider_says_is_not_verified_neither_signs_in_nor_creates_an_account(
        live_server, proconnect, inserm):
    make_user("porteur@inserm.example", organisation=inserm)
    proconnect.add_user("porteur@inserm.example", siret=INSERM_SIRET, email_verified=False)
    proconnect.add_user("inconnue@inserm.example", siret=INSERM_SIRET, email_verified=False)

    for email in ("porteur@inserm.example", "inconnue@inserm.example"):
        session = requests.Session()
        page = sign_in(live_server, proconnect, email, session=session)
        assert is_login_page(live_server, page)
        assert "ProConnect n'a pas transmis d'adresse électronique vérifiée" in alert(page)
        assert signed_in_user(live_server, session) is None
    assert not User.objects.filter(email="inconnue@inserm.example").exists()
    assert not ProConnectIdentity.objects.exists()


def test_an_account_linked_to_another_proconnect_identity_is_not_linked_again_by_its_address(db, inserm):
    applicant = make_user("porteur@inserm.example", organisation=inserm)
    claims = services.ProConnectClaims(sub="first", email="porteur@inserm.example", siret=INSERM_SIRET)
    assert services.sign_in_with_proconnect(issuer="https://proconnect.example", claims=claims) == applicant

    other = services.ProConnectClaims(sub="second", email="porteur@inserm.example", siret=INSERM_SIRET)
    with pytest.raises(ActionNotPermitted, match="déjà relié à une autre identité ProConnect"):
        services.sign_in_with_proconnect(issuer="https://proconnect.example", claims=other)
    assert list(ProConnectIdentity.objects.values_list("sub", flat=True)) == ["first"]


def test_declining_consent_at_the_provider_comes_back_to_the_sign_in_page_saying_so(live_server, proconnect):
    proconnect.add_user("hesitante@labo.example")
    session = requests.Session()
    page = session.get(f"{live_server.url}/oidc/authenticate/", timeout=30)
    page = _submit(session, page, {"username": "hesitante@labo.example", "password": PROVIDER_PASSWORD})

    page = _submit(session, page, {})  # "Decline": the form without "allow"

    assert is_login_page(live_server, page)
    assert "La connexion avec ProConnect n'a pas abouti" in alert(page)
    assert not User.objects.filter(email="hesitante@labo.example").exists()


# --- the rest of sign-in and sign-out ---------------------------------------------------------------------
def test_the_sign_in_page_offers_proconnect_beside_the_password(client, proconnect):
    page = client.get(reverse("login") + "?next=/portal/")

    html = lxml.html.fromstring(page.content)
    button = html.xpath("//a[contains(@class, 'fr-connect')]")[0]
    assert " ".join(button.text_content().split()) == "S'identifier avec ProConnect"
    assert button.get("href") == "/oidc/authenticate/?next=/portal/"
    assert html.xpath("//input[@type='password']")


def test_the_password_still_signs_in_with_proconnect_on(live_server, proconnect, inserm):
    applicant = make_user("porteur@inserm.example", organisation=inserm)
    session = requests.Session()
    page = session.get(f"{live_server.url}{reverse('login')}", timeout=30)

    page = _submit(session, page, {"username": "Porteur@Inserm.example", "password": PASSWORD},
                   form="//form[.//input[@type='password']]")

    assert page.url == f"{live_server.url}{reverse('portal:list')}"
    assert signed_in_user(live_server, session) == applicant


def test_signing_out_ends_the_provider_s_session_too(live_server, proconnect):
    proconnect.add_user("sortante@labo.example")
    session = requests.Session()
    page = sign_in(live_server, proconnect, "sortante@labo.example", session=session)
    form = lxml.html.fromstring(page.text).xpath(f"//form[@action='{reverse('logout')}']")[0]

    page = session.post(f"{live_server.url}{reverse('logout')}", data=dict(form.form_values()), timeout=30)

    # Through the provider's end-session endpoint, back to our home page.
    assert [urlsplit(step.url).path for step in page.history] == [reverse("logout"), "/openid/end-session"]
    assert page.url.split("?")[0] == f"{live_server.url}/"
    assert signed_in_user(live_server, session) is None
    # The provider asks for the password again.
    again = session.get(f"{live_server.url}/oidc/authenticate/", timeout=30)
    assert again.url.startswith(f"{proconnect.url}/login/")


def test_a_password_session_signs_out_on_this_site_only(client, proconnect, inserm):
    applicant = make_user("porteur@inserm.example", organisation=inserm)
    client.force_login(applicant, backend="accounts.permissions.CachedPermissionsBackend")

    response = client.post(reverse("logout"))

    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_a_provider_that_does_not_answer_sends_back_to_the_sign_in_page_saying_so(client, settings, db):
    settings.PROCONNECT_ENABLED = True
    settings.PROCONNECT_ISSUER = f"http://127.0.0.1:{free_port()}/nobody"

    page = client.get("/oidc/authenticate/", follow=True)

    assert page.redirect_chain == [(reverse("login"), 302)]
    assert "ProConnect ne répond pas" in page.content.decode()


# --- off unless configured ----------------------------------------------------------------------------
def test_without_configuration_there_is_no_button_no_backend_and_the_addresses_answer_404(client, db):
    assert not django_settings.PROCONNECT_ENABLED
    assert "accounts.proconnect.ProConnectBackend" not in django_settings.AUTHENTICATION_BACKENDS

    page = client.get(reverse("login"))

    assert page.status_code == 200 and "ProConnect" not in page.content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def _settings_from(**env) -> subprocess.CompletedProcess:
    """The settings of a fresh process with ``env``: the backends and the CSP's form-action."""
    dropped = {"PROCONNECT_ISSUER", "PROCONNECT_CLIENT_ID", "PROCONNECT_CLIENT_SECRET", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full_env = {**{k: v for k, v in os.environ.items() if k not in dropped}, "DEBUG": "true", **env}
    code = ("from django.conf import settings; print(settings.AUTHENTICATION_BACKENDS); "
            "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])")
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_the_environment_switches_proconnect_on_with_its_issuer_client_and_secret():
    result = _settings_from(PROCONNECT_ISSUER="https://auth.proconnect.example/api/v2/", PROCONNECT_CLIENT_ID="id",
                            PROCONNECT_CLIENT_SECRET="secret")

    assert result.returncode == 0, result.stderr
    backends, form_action = result.stdout.strip().splitlines()[-2:]
    assert backends == str(["axes.backends.AxesStandaloneBackend", "accounts.permissions.CachedPermissionsBackend",
                            "accounts.proconnect.ProConnectBackend"])
    assert form_action == str(["'self'", "https://auth.proconnect.example"])


@pytest.mark.parametrize(("env", "error"), [
    ({"PROCONNECT_ISSUER": "https://auth.proconnect.example", "PROCONNECT_CLIENT_ID": "id"}, "go together"),
    ({"PROCONNECT_ISSUER": "http://auth.proconnect.example", "PROCONNECT_CLIENT_ID": "id",
      "PROCONNECT_CLIENT_SECRET": "secret"}, "PROCONNECT_ISSUER: must be an https:// URL"),
])
def test_an_incomplete_or_insecure_configuration_stops_the_start(env, error):
    result = _settings_from(**env)

    assert result.returncode != 0 and error in result.stderr
