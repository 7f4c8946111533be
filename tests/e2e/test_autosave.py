"""Autosave in a real browser (portal/static/portal/autosave.js), with Playwright's clock advanced:
the new-request form saves itself after 30 seconds and says when; the draft is there on reload; a
session that expires loses nothing (the text waits in localStorage through the sign-in and is
restored on the form).
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from access_requests.models import AccessRequest
from accounts.models import Organisation
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.django_db(transaction=True)

SUMMARY = "Devenir à 5 ans des patients opérés d'un cancer du rein."
METHODOLOGY = "Cohorte rétrospective 2015-2024, appariement déterministe sur le NIR pseudonymisé."


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def leader(db):
    return make_user("ada@univ-exemple.fr", organisation=Organisation.objects.create(name="Université d'exemple"))


def accessible(page) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], violations


def test_the_new_request_form_saves_itself_and_keeps_the_text_through_an_expired_session(page, leader):
    saves = []
    page.on("request", lambda request: saves.append(request.url) if request.url.endswith("/autosave/") else None)
    page.clock.install()
    login(page, leader.email, PASSWORD)
    page.goto("/portal/new/")
    status = page.locator("#autosave-status")
    expect(page.locator("#autosave-restore")).to_be_hidden()

    # Typed, then 30 seconds: the draft is created and the page says when.
    page.fill("#id_title", "Cancers du rein : parcours de soins")
    page.fill("#id_summary", SUMMARY)
    page.clock.fast_forward("00:30")
    expect(status).to_contain_text(re.compile(r"^Enregistré à \d{1,2} h \d\d$"))
    draft = AccessRequest.objects.get()
    assert (draft.title, draft.summary) == ("Cancers du rein : parcours de soins", SUMMARY)
    edit_url = f"/portal/requests/{draft.reference}/edit/"
    assert page.url.endswith(edit_url)  # the address bar and the form now point at the draft
    assert page.locator("#draft-form").get_attribute("action") == edit_url
    accessible(page)
    screenshot(page, "portal-autosave-saved")

    # Nothing changed (the catalogue filter is not a field): 30 more seconds send nothing; a reload
    # shows the saved text and no offer.
    assert len(saves) == 1
    page.fill("#dataset-search", "snds")
    page.clock.fast_forward("00:30")
    page.wait_for_timeout(300)
    assert len(saves) == 1
    page.reload()
    expect(page.locator("#id_summary")).to_have_value(SUMMARY)
    expect(page.locator("#autosave-restore")).to_be_hidden()

    # The session expires; what is typed next cannot be saved: the page says so and keeps it.
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)
    page.fill("#id_methodology", METHODOLOGY)
    page.clock.fast_forward("00:30")
    signed_out = page.locator("#autosave-signed-out")
    expect(signed_out).to_be_visible()
    expect(signed_out).to_contain_text("Votre session a expiré")
    assert AccessRequest.objects.get().methodology == ""
    accessible(page)
    screenshot(page, "portal-autosave-signed-out")

    # Sign in again from the link: back on the form, the kept text is offered, and restored.
    page.click("#autosave-sign-in")
    page.fill("#id_username", leader.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Se connecter')")
    page.wait_for_url(f"**{edit_url}")
    expect(page.locator("#id_methodology")).to_have_value("")
    restore = page.locator("#autosave-restore")
    expect(restore).to_be_visible()
    accessible(page)
    screenshot(page, "portal-autosave-restore")
    page.click("text=Restaurer le texte non enregistré")
    expect(restore).to_be_hidden()
    expect(page.locator("#id_methodology")).to_have_value(METHODOLOGY)
    expect(page.locator("#id_summary")).to_have_value(SUMMARY)

    # Saved at the next tick; the final submit updates the same draft.
    page.clock.fast_forward("00:30")
    expect(status).to_contain_text("Enregistré à")
    assert AccessRequest.objects.get().methodology == METHODOLOGY
    page.fill("#id_team_members", "Dr A. Martin, investigatrice")
    page.click("button:has-text('Enregistrer le brouillon')")
    page.wait_for_url(f"**/portal/requests/{draft.reference}/")
    assert AccessRequest.objects.count() == 1
    assert AccessRequest.objects.get().team_members == "Dr A. Martin, investigatrice"
    assert page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('hdh-draft:'))") == []


def test_a_submit_after_the_session_expired_keeps_the_text_and_a_discarded_text_is_gone(page, leader):
    page.clock.install()
    login(page, leader.email, PASSWORD)
    page.goto("/portal/new/")
    page.fill("#id_title", "Projet sans autosauvegarde")
    page.fill("#id_summary", SUMMARY)

    # The session ends before any save; the final submit sees it before the page is left.
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)
    page.click("button:has-text('Enregistrer le brouillon')")
    expect(page.locator("#autosave-signed-out")).to_be_visible()
    assert page.url.endswith("/portal/new/") and not AccessRequest.objects.exists()

    # Signed in again (from the header this time), the new form offers the kept text; discarded, it is gone.
    login(page, leader.email, PASSWORD)
    page.goto("/portal/new/")
    expect(page.locator("#autosave-restore")).to_be_visible()
    expect(page.locator("#id_summary")).to_have_value("")
    page.click("text=Effacer ce texte")
    expect(page.locator("#autosave-restore")).to_be_hidden()
    page.reload()
    expect(page.locator("#autosave-restore")).to_be_hidden()
    expect(page.locator("#id_title")).to_have_value("")


def test_leaving_the_page_saves_what_was_typed_at_once(page, leader):
    page.clock.install()
    login(page, leader.email, PASSWORD)
    page.goto("/portal/new/")
    page.fill("#id_title", "Projet enregistré en quittant la page")
    page.fill("#id_summary", SUMMARY)

    # The tab is hidden (another tab, the window closed): no waiting for the 30-second tick.
    page.evaluate("""() => {
        Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")

    expect(page.locator("#autosave-status")).to_contain_text("Enregistré à")
    assert AccessRequest.objects.get().summary == SUMMARY
