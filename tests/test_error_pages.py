"""The site's error pages (issue 14): with DEBUG off, 400, 403, 404, 500 and a refused CSRF check
answer a page in the DSFR layout, in French or English, with a way back; the 500 page needs no
database (hdh_access/error_pages.py).

This module is also the URLconf of the tests (ROOT_URLCONF): the site's own routes and handlers,
plus views that fail on purpose.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError, connection
from django.test import Client, RequestFactory, override_settings
from django.urls import path
from django.utils import translation

from hdh_access import error_pages
from hdh_access import urls as site_urls


def _refused(request):
    raise PermissionDenied


def _suspicious(request):
    raise SuspiciousOperation("a forged request")


def _broken(request):
    raise RuntimeError("a bug")


def _database_down(request):
    connection.cursor()  # raises: the tests below break the connection
    raise AssertionError("unreachable")


urlpatterns = [
    path("tests/refused/", _refused),
    path("tests/suspicious/", _suspicious),
    path("tests/broken/", _broken),
    path("tests/database-down/", _database_down),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500

production = override_settings(DEBUG=False, ROOT_URLCONF=__name__)

TEXTS = {
    "fr": {400: ("Requête incorrecte", "Erreur 400"), 403: ("Accès refusé", "Erreur 403"),
           404: ("Page introuvable", "Erreur 404"), 500: ("Erreur inattendue", "Erreur 500"),
           "csrf": ("Formulaire expiré", "Erreur 403"), "home": "Page d'accueil"},
    "en": {400: ("Bad request", "Error 400"), 403: ("Access denied", "Error 403"),
           404: ("Page not found", "Error 404"), 500: ("Unexpected error", "Error 500"),
           "csrf": ("Form expired", "Error 403"), "home": "Home page"},
}


@pytest.fixture
def anonymous():
    client = Client(raise_request_exception=False)
    yield client
    translation.activate("fr")


def assert_site_page(response, *, status: int, language: str, heading: str, code: str) -> str:
    """The answer is the site's page: its layout, its language, the error, a way back home."""
    html = response.content.decode()
    assert response.status_code == status
    assert f'<html lang="{language}"' in html
    assert f"<title>{heading} — " in html
    assert f"<h1>{heading}</h1>" in html and code in html
    assert 'class="fr-header"' in html and 'id="footer"' in html and 'href="#content"' in html
    assert 'href="/"' in html
    assert "Not Found" not in html.replace("Page not found", "") and "Server Error (500)" not in html
    return html


@production
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_unknown_address_answers_the_sites_404_page_with_a_way_back(anonymous, language):
    response = anonymous.get("/nulle-part/", HTTP_ACCEPT_LANGUAGE=language)
    heading, code = TEXTS[language][404]
    html = assert_site_page(response, status=404, language=language, heading=heading, code=code)
    assert 'href="/plan-du-site/"' in html and TEXTS[language]["home"] in html


@production
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_refused_page_answers_the_sites_403_page_offering_to_sign_in(anonymous, language):
    response = anonymous.get("/tests/refused/", HTTP_ACCEPT_LANGUAGE=language)
    heading, code = TEXTS[language][403]
    html = assert_site_page(response, status=403, language=language, heading=heading, code=code)
    assert 'href="/accounts/login/?next=/tests/refused/"' in html


@production
@pytest.mark.django_db
def test_a_signed_in_user_refused_a_page_is_told_whom_to_ask(anonymous, applicant):
    anonymous.force_login(applicant)
    html = assert_site_page(anonymous.get("/tests/refused/"), status=403, language="fr", heading="Accès refusé",
                            code="Erreur 403")
    assert "adressez-vous au secrétariat du HDH" in html and "/accounts/login/?next" not in html


@production
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_suspicious_request_and_an_unknown_host_answer_the_sites_400_page(anonymous, language):
    heading, code = TEXTS[language][400]
    response = anonymous.get("/tests/suspicious/", HTTP_ACCEPT_LANGUAGE=language)
    assert_site_page(response, status=400, language=language, heading=heading, code=code)
    response = anonymous.get("/", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE=language)
    assert_site_page(response, status=400, language=language, heading=heading, code=code)


@production
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_form_refused_by_the_csrf_check_answers_the_sites_page_and_leads_back(language):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "a@b.example", "password": "x"},
                           HTTP_ACCEPT_LANGUAGE=language, HTTP_REFERER="http://testserver/accounts/login/")
    heading, code = TEXTS[language]["csrf"]
    html = assert_site_page(response, status=403, language=language, heading=heading, code=code)
    assert 'href="http://testserver/accounts/login/"' in html
    assert "csrftoken" in html
    translation.activate("fr")


@production
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_bug_answers_the_sites_500_page(anonymous, language):
    response = anonymous.get("/tests/broken/", HTTP_ACCEPT_LANGUAGE=language)
    heading, code = TEXTS[language][500]
    assert_site_page(response, status=500, language=language, heading=heading, code=code)


@pytest.fixture
def database_down(monkeypatch):
    """Every use of the database fails, as when PostgreSQL is down."""

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    monkeypatch.setattr(connection, "cursor", refuse)


@production
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_500_page_is_drawn_without_the_database(anonymous, database_down, language):
    """No ``db`` mark: pytest-django refuses any query too. The layout, not the last-resort text."""
    response = anonymous.get("/tests/database-down/", HTTP_ACCEPT_LANGUAGE=language)
    heading, code = TEXTS[language][500]
    html = assert_site_page(response, status=500, language=language, heading=heading, code=code)
    assert "Se connecter" not in html and "Sign in" not in html  # who is signed in is not known
    assert error_pages.LAST_RESORT not in html


@production
def test_the_500_handler_called_directly_with_the_database_down_draws_the_layout(database_down):
    request = RequestFactory().get("/demandes/")
    with translation.override("fr"):
        response = error_pages.server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Erreur inattendue</h1>" in html and 'id="footer"' in html and 'href="/accessibilite/"' in html


@production
def test_the_500_handler_falls_back_to_a_plain_page_when_its_template_fails(monkeypatch):
    def broken(name):
        raise RuntimeError("template engine down")

    monkeypatch.setattr(error_pages.loader, "get_template", broken)
    response = error_pages.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert response.content.decode() == error_pages.LAST_RESORT
