"""The pages every public service has (issue 14): the accessibility statement, legal notice,
personal data, cookies and sitemap, linked from the footer of every page; the skip links of
every page (RGAA 12.7)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from access_requests.workflow import State
from tests.test_settings import _manage

pytestmark = pytest.mark.django_db

PAGES = {
    "accessibility": ("/accessibilite/", "Déclaration d'accessibilité", "Accessibility statement"),
    "legal_notice": ("/mentions-legales/", "Mentions légales", "Legal notice"),
    "personal_data": ("/donnees-personnelles/", "Données personnelles", "Personal data"),
    "cookies": ("/cookies/", "Gestion des cookies", "Cookies"),
    "sitemap": ("/plan-du-site/", "Plan du site", "Sitemap"),
}


def html_of(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_answers_at_its_stable_address_in_french_and_english(client, name, language_restored):
    address, french, english = PAGES[name]
    assert reverse(name) == address
    html = html_of(client.get(address))
    assert f"<h1>{french}</h1>" in html and '<html lang="fr"' in html
    html = html_of(client.get(address, HTTP_ACCEPT_LANGUAGE="en"))
    assert f"<h1>{english}</h1>" in html and '<html lang="en"' in html


def test_the_footer_of_every_kind_of_page_links_to_them_and_states_the_accessibility_level(client, applicant):
    client.force_login(applicant)
    for address in ("/", reverse("portal:list"), "/plan-du-site/"):
        footer = html_of(client.get(address)).split('id="footer"')[1]
        for path, _french, _english in PAGES.values():
            assert f'href="{path}"' in footer, (address, path)
        assert "Accessibilité : partiellement conforme" in footer


def test_the_statement_gives_the_level_the_checks_their_date_and_the_contact(client, settings):
    html = html_of(client.get("/accessibilite/"))
    assert "<strong>partiellement conforme</strong>" in html and "RGAA), version 4.1" in html
    assert "Aucun audit complet" in html
    assert "Les vérifications du 7 décembre 2026" in html and "axe-core" in html
    assert "4,9:1 (4,5:1 exigé)" in html  # the contrasts measured (tests/e2e/test_accessibility.py)
    assert 'href="mailto:accessibilite@health-data-hub.example"' in html
    assert "Défenseur des droits" in html
    settings.HDH_ACCESSIBILITY_CONTACT = "https://contact.health-data-hub.example/accessibilite"
    html = html_of(client.get("/accessibilite/"))
    assert 'href="https://contact.health-data-hub.example/accessibilite"' in html


def test_the_statement_reads_in_english(client, language_restored):
    html = html_of(client.get("/accessibilite/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "<strong>partially compliant</strong>" in html and "The checks of 7 December 2026" in html


def test_the_cookie_page_names_the_sites_only_cookies_and_their_lifetimes(client, settings):
    html = html_of(client.get("/cookies/"))
    assert "aucun cookie de mesure d'audience, de publicité ou de suivi" in html
    cells = re.findall(r'<th scope="row"><code>([^<]+)</code></th>\s*<td>[^<]+</td>\s*<td>([^<]+)</td>', html)
    assert cells == [("sessionid", "14 jours ou jusqu'à la déconnexion"), ("csrftoken", "364 jours"),
                     ("django_language", "jusqu'à la fermeture du navigateur")]
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    assert "<td>jusqu'à la fermeture du navigateur ou jusqu'à la déconnexion</td>" in html_of(client.get("/cookies/"))


def test_the_personal_data_page_gives_the_purge_delay_of_the_settings(client, settings):
    settings.HDH_UNCONFIRMED_ACCOUNT_DAYS = 9
    assert "est supprimé après 9 jours." in html_of(client.get("/donnees-personnelles/"))


def test_the_sitemap_lists_the_pages_each_user_may_open(client, applicant, secretariat, management, superuser):
    def links(user=None) -> set[str]:
        client.logout()
        if user:
            client.force_login(user)
        main = html_of(client.get("/plan-du-site/")).split('id="content"')[1].split('id="footer"')[0]
        return set(re.findall(r'href="([^"#]+)"', main))

    informations = {path for path, _f, _e in PAGES.values()} - {"/plan-du-site/"}
    # The public directory of projects (issue 18), for everyone.
    informations |= {"/projets/", "/en/projects/", "/projets/flux.atom", "/projets.csv", "/projets.json"}
    # The roadmap's indicators (directory), public too.
    informations |= {"/indicateurs/"}
    assert links() == {"/", "/accounts/login/", "/accounts/signup/", "/accounts/password-reset/", *informations}
    assert links(applicant) == {"/", "/portal/", "/portal/new/", "/accounts/profile/", "/accounts/organisation/",
                                "/accounts/password-change/", *informations}
    assert {"/backoffice/", "/backoffice/delays/", "/backoffice/organisations/", "/backoffice/indicators/"} \
        <= links(secretariat)
    assert "/portal/" not in links(secretariat)
    assert "/backoffice/organisations/" not in links(management)
    assert {"/admin/", "/portal/", "/backoffice/"} <= links(superuser)


def test_every_page_starts_with_skip_links_to_targets_that_exist(client, make_request, secretariat):
    request = make_request(State.SUBMITTED)
    pages = [("/", None), ("/accounts/login/", None), ("/accessibilite/", None),
             (reverse("backoffice:queue"), secretariat), (reverse("backoffice:detail", args=[request.reference]),
                                                          secretariat)]
    for address, user in pages:
        if user:
            client.force_login(user)
        html = html_of(client.get(address))
        body = html.split("<body>", 1)[1]
        skiplinks = body.split('<ul class="fr-skiplinks__list">', 1)[1].split("</ul>", 1)[0]
        targets = re.findall(r'<a class="fr-link" href="#([^"]+)">([^<]+)</a>', skiplinks)
        expected = [("content", "Contenu"), ("header-navigation", "Menu"), ("footer", "Pied de page")]
        if address == reverse("backoffice:queue"):
            expected.insert(2, ("search", "Recherche"))
        assert targets == expected, address
        for target, _label in targets:
            assert f'id="{target}"' in html, (address, target)
        assert body.lstrip().startswith('<div class="fr-skiplinks">'), address


@pytest.mark.parametrize(("value", "message"), [
    ("", "HDH_ACCESSIBILITY_CONTACT must be set"),
    ("nobody", "HDH_ACCESSIBILITY_CONTACT: must be an email address or an https:// address, got 'nobody'"),
    ("http://contact.example", "HDH_ACCESSIBILITY_CONTACT: must be an email address or an https:// address"),
])
def test_an_accessibility_contact_that_is_neither_an_address_nor_https_stops_the_start(value, message):
    result = _manage("check", DEBUG="true", HDH_ACCESSIBILITY_CONTACT=value)
    assert result.returncode != 0
    assert message in result.stderr
