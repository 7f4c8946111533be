"""An anonymous visitor searches the public directory and opens a project (issue 18): no serious
accessibility violation, no Content-Security-Policy violation."""

from __future__ import annotations

import pytest

from access_requests.workflow import State
from tests.directory.conftest import project  # noqa: F401  (fixture)
from tests.e2e.conftest import screenshot, serious_accessibility_violations
from tests.e2e.test_csp import Watched

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_anonymous_visitor_searches_the_directory_and_opens_a_project(browser, live_server, project):  # noqa: F811
    wanted = project(State.DELIVERED, title="Réadmissions à l'hôpital après une chirurgie",
                     public_summary="Comprendre pourquoi des patients reviennent à l'hôpital.")
    project(State.CONTRACTING, title="Vaccination des enfants")
    project(State.CNIL_REVIEW, title="Un projet pas encore autorisé à l'hôpital")
    visitor = Watched(browser, live_server)
    page = visitor.page
    visitor.visit("/projets/")
    assert page.locator("h1").inner_text() == "Répertoire public des projets"
    assert page.locator("caption").inner_text() == "2 projets"
    assert serious_accessibility_violations(page) == []

    page.get_by_label("Rechercher un projet").fill("hôpital")
    page.locator("#search button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("caption").inner_text() == "1 projet"
    assert serious_accessibility_violations(page) == []
    screenshot(page, "directory-search")

    page.get_by_role("link", name=wanted.title).click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/projets/{wanted.reference}/")
    assert page.locator("h1").inner_text() == wanted.title
    assert page.get_by_text("Comprendre pourquoi des patients reviennent").is_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "directory-project")

    visitor.visit(f"/en/projects/{wanted.reference}/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert serious_accessibility_violations(page) == []
    assert visitor.close() == []
