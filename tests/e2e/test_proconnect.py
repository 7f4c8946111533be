"""ProConnect in Chromium, against the real provider of tests/oidc_provider: the button of the sign-in
page, the provider's sign-in and consent, back signed in, then the sign-out through the provider's
end-session endpoint, under the site's Content-Security-Policy (the sign-out's redirect to the
provider is a form's: form-action must allow it)."""

from __future__ import annotations

import re

import pytest

from accounts.models import Organisation
from tests.conftest import make_user
from tests.e2e.conftest import serious_accessibility_violations
from tests.oidc_provider.runner import PROVIDER_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_signing_in_and_out_with_proconnect_in_a_browser(page, live_server, proconnect):
    inserm = Organisation.objects.create(name="Inserm U1018", siret="18007003900014")
    make_user("porteur@inserm.example", organisation=inserm, first_name="Ada", last_name="Lovelace")
    proconnect.add_user("porteur@inserm.example", siret="18007003900014")
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)

    page.goto("/accounts/login/")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="S'identifier avec ProConnect").click()
    page.wait_for_url(f"{proconnect.url}/login/**")
    page.fill("#id_username", "porteur@inserm.example")
    page.fill("#id_password", PROVIDER_PASSWORD)
    page.click("button[type=submit]")
    page.click("input[name=allow]")  # the provider's consent

    page.wait_for_url(f"{live_server.url}/portal/")
    logout = page.locator(".fr-header__tools button:has-text('Se déconnecter')")
    assert logout.is_visible()
    with page.expect_request(lambda request: request.url.startswith(f"{proconnect.issuer}/end-session")):
        logout.click()
    page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/(\?.*)?$"))  # home (with the provider's state)
    assert page.locator(".fr-header__tools a:has-text('Se connecter')").is_visible()
    assert refused == []
