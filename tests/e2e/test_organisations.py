"""Joining and merging organisations in Chromium: a member approves a newcomer from their
organisation page; the secretariat merges a duplicate from the back office. Both pages pass axe."""

from __future__ import annotations

import pytest

from access_requests.workflow import Role
from accounts.models import Organisation, Profile
from tests.accounts.helpers import ask_to_join
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.django_db(transaction=True)


def as_user(browser, live_server, email: str):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, email, PASSWORD)
    return page


def test_a_member_approves_a_newcomer_and_the_secretariat_merges_a_duplicate(browser, live_server):
    organisation = Organisation.objects.create(name="Inserm U1018")
    make_user("porteur@inserm.example", organisation=organisation, first_name="Claire", last_name="Martin")
    make_user("secretariat@hdh.example", role=Role.SECRETARIAT, first_name="Sami", last_name="Benali")
    membership = ask_to_join("nouvelle@inserm.example", "inserm u1018")

    page = as_user(browser, live_server, "porteur@inserm.example")
    page.goto("/accounts/organisation/")
    row = page.locator("tbody tr", has_text="nouvelle@inserm.example")
    assert row.is_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "accounts-organisation")
    row.locator("button:has-text('Accepter')").click()
    assert page.locator("text=a rejoint l'organisation « Inserm U1018 »").is_visible()
    assert Profile.objects.get(user=membership.user).organisation == organisation

    Organisation.objects.create(name="INSERM U-1018")
    page = as_user(browser, live_server, "secretariat@hdh.example")
    page.goto("/backoffice/organisations/")
    assert serious_accessibility_violations(page) == []
    screenshot(page, "backoffice-organisations")
    page.select_option("#merge-source", label="INSERM U-1018")
    page.select_option("#merge-target", label="Inserm U1018")
    page.click("button:has-text('Fusionner')")
    assert page.locator("text=est fusionnée dans « Inserm U1018 »").is_visible()
    assert list(Organisation.objects.values_list("name", flat=True)) == ["Inserm U1018"]
