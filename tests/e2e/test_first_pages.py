"""Each role's first page on the demo data, at a desktop width (1280 px) and a phone width (390 px):
where signing in lands, that it holds the role's work, that nothing overflows sideways (WCAG 1.4.10,
reflow), and a screenshot of each (`make screenshots` publishes them in docs/screenshots/)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Demo-Screens-2026!"
# What the queue says when nothing waits for the role (backoffice/templates/backoffice/queue.html).
EMPTY_QUEUE = "Aucune demande ne correspond"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
# persona, the path signing in lands on, a text that page must show
FIRST_PAGES = [
    ("demandeur@example.org", "/portal/", "Mes demandes"),
    ("secretariat@example.org", "/backoffice/", "demandes"),
    ("cesrees@example.org", "/backoffice/", "demandes"),
    ("cnil@example.org", "/backoffice/", "demandes"),
    ("cnam@example.org", "/backoffice/", "tâches ouvertes"),  # a data holder's queue: its own tasks
    ("atih@example.org", "/backoffice/", "tâches ouvertes"),
    ("chu-bordeaux@example.org", "/backoffice/", "tâches ouvertes"),
    ("plateforme@example.org", "/backoffice/", "demandes"),
    ("direction@example.org", "/backoffice/", "demandes"),
]


@pytest.fixture
def demo(db):
    call_command("seed_demo", password=PASSWORD, force=True, verbosity=0)


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def test_each_role_lands_on_its_first_page_with_work_in_it_and_it_reflows_on_a_phone(browser, live_server, demo):
    for width, (w, h) in WIDTHS.items():
        for email, path, text in FIRST_PAGES:
            context = browser.new_context(locale="fr-FR", viewport={"width": w, "height": h}, base_url=live_server.url)
            page = context.new_page()
            page.set_default_timeout(15_000)
            try:
                login(page, email, PASSWORD)
                page.wait_for_url(f"**{path}")
                main = page.inner_text("main")
                assert text.lower() in main.lower(), (email, width)
                assert EMPTY_QUEUE not in main, f"{email}: the demo leaves this role's queue empty"
                assert overflow(page) <= 0, f"{email} at {w} px: the page is {overflow(page)} px wider than the window"
                screenshot(page, f"first-page-{email.split('@')[0]}-{width}")
            finally:
                context.close()
        context = browser.new_context(locale="fr-FR", viewport={"width": w, "height": h}, base_url=live_server.url)
        page = context.new_page()
        page.goto("/")
        assert overflow(page) <= 0
        screenshot(page, f"first-page-visitor-{width}")
        context.close()
