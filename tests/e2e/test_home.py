import pytest

from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_page_renders_in_chromium_without_serious_accessibility_violations(page):
    page.goto("/")
    assert page.locator("h1").inner_text() == "Accès aux données de santé pour la recherche"
    assert serious_accessibility_violations(page) == []
    screenshot(page, "home")


def test_language_switcher_shows_the_page_in_english_at_the_same_url(page):
    page.goto("/")
    page.click("button[name=language][value=en]")
    page.wait_for_load_state()
    assert page.url.rstrip("/").endswith(page.url.split("/")[2])  # same path: "/"
    assert page.locator("html").get_attribute("lang") == "en"


def test_a_user_signs_in_and_out(page):
    make_user("porteur@example.org")
    login(page, "porteur@example.org", PASSWORD)
    # The DSFR script copies the header tools into the mobile menu: use the visible header's.
    logout = page.locator(".fr-header__tools button:has-text('Se déconnecter')")
    assert logout.is_visible()
    logout.click()
    assert page.locator("a:has-text('Se connecter')").first.is_visible()


def test_pages_raise_no_javascript_error(page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/")
    page.goto("/accounts/login/")
    page.wait_for_load_state("networkidle")
    assert errors == []
