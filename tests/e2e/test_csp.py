"""The Content-Security-Policy in Chromium: the main pages of every kind of user work under it, and
the browser reports no violation (no inline script or style refused, nothing loaded from elsewhere).

Violations are caught three ways: the ``securitypolicyviolation`` DOM event (listened to by an init
script, which Playwright injects outside the page's policy), the console message Chromium prints
for each refusal, and uncaught page errors. One browser context per kind of user.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from access_requests import services
from access_requests.workflow import Role
from tests.backoffice.helpers import backoffice_settings, import_sample  # noqa: F401  (autouse)
from tests.conftest import PASSWORD, datasets, make_user
from tests.e2e.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                            + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""


class Watched:
    """A browser context whose pages report every CSP violation, CSP console message and page error."""

    def __init__(self, browser, live_server):
        self.problems: list[str] = []
        self.context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900},
                                           base_url=live_server.url)
        self.context.expose_function("reportCspViolation", lambda text: self.problems.append(f"violation: {text}"))
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        self.page.wait_for_load_state("networkidle")

    def close(self) -> list[str]:
        self.page.wait_for_timeout(100)  # a violation event is reported asynchronously
        self.context.close()
        return self.problems


@pytest.fixture
def people(organisation):
    return {
        "applicant": make_user("porteur@inserm.example", organisation=organisation),
        "secretariat": make_user("secretariat@hdh.example", role=Role.SECRETARIAT),
        "management": make_user("direction@hdh.example", role=Role.MANAGEMENT),
        "admin": make_user("admin@hdh.example", is_staff=True, is_superuser=True),
    }


def _request_with_history(people):
    """A dossier filed 40 days ago, now at the CESREES: its page shows the time bars."""
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=45), tick=False):
        request = services.create_draft(actor=people["applicant"], title="Parcours de soins après un AVC",
                                        summary="Cohorte nationale.\nDeux lignes.", datasets=datasets("snds", "oscour"))
    with time_machine.travel(now - dt.timedelta(days=40), tick=False):
        services.submit(request_id=request.pk, actor=people["applicant"])
    with time_machine.travel(now - dt.timedelta(days=33), tick=False):
        request = services.forward_to_cesrees(request_id=request.pk, actor=people["secretariat"])
    return request


def test_the_main_pages_of_every_kind_of_user_raise_no_content_security_policy_violation(
        browser, live_server, people, tmp_path):
    request = _request_with_history(people)
    import_sample(tmp_path, 20, as_of=timezone.now() - dt.timedelta(days=1))
    problems: dict[str, list[str]] = {}

    visitor = Watched(browser, live_server)
    visitor.visit("/")
    visitor.visit("/accounts/login/")
    visitor.page.click(".fr-header__tools button[name=language]")  # a form posted, then a redirect
    visitor.page.wait_for_load_state("networkidle")
    assert visitor.page.locator("html").get_attribute("lang") == "en"
    problems["visitor"] = visitor.close()

    applicant = Watched(browser, live_server)
    login(applicant.page, "porteur@inserm.example", PASSWORD)
    applicant.visit("/portal/")
    applicant.visit(f"/portal/requests/{request.reference}/")
    # The styles moved to portal.css apply: pre-wrapped texts, the SVG bars of the elapsed time.
    assert applicant.page.evaluate(
        "() => getComputedStyle(document.querySelector('.hdh-prewrap')).whiteSpace") == "pre-wrap"
    assert applicant.page.locator("svg.hdh-bar-track rect.hdh-bar").count() >= 2
    assert applicant.page.locator("svg.hdh-bar-track").first.bounding_box()["height"] == 8
    applicant.visit("/portal/new/")
    # The catalogue filter (portal/dataset-search.js) runs.
    applicant.page.fill("#dataset-search", "bordeaux")
    assert applicant.page.locator(".hdh-dataset:visible").count() == 1
    assert applicant.page.locator("#dataset-search-status").inner_text() == "Bases affichées : 1"
    problems["applicant"] = applicant.close()

    reviewer = Watched(browser, live_server)
    login(reviewer.page, "secretariat@hdh.example", PASSWORD)
    reviewer.visit("/backoffice/?scope=all")
    assert reviewer.page.evaluate(
        "() => getComputedStyle(document.querySelector('.hdh-queue table')).tableLayout") == "fixed"
    reviewer.visit(f"/backoffice/requests/{request.reference}/")
    reviewer.page.locator("#actions details summary").first.click()  # the DSFR's scripts still run
    problems["reviewer"] = reviewer.close()

    manager = Watched(browser, live_server)
    login(manager.page, "direction@hdh.example", PASSWORD)
    manager.visit("/backoffice/delays/")
    # The charts (backoffice/delays-charts.js, Chart.js) are drawn.
    for canvas in ("chart-stages", "chart-shares", "chart-access", "chart-current"):
        assert manager.page.evaluate(f"() => !!Chart.getChart(document.getElementById('{canvas}'))"), canvas
        assert manager.page.locator(f"#{canvas}").bounding_box()["height"] > 100
    problems["management"] = manager.close()

    admin = Watched(browser, live_server)
    admin.page.goto("/admin/login/")
    admin.page.fill("#id_username", "admin@hdh.example")
    admin.page.fill("#id_password", PASSWORD)
    admin.page.click("input[type=submit]")
    admin.visit("/admin/")
    assert admin.page.locator("#site-name").is_visible()
    admin.visit("/admin/auth/user/")
    admin.visit("/admin/auth/user/add/")
    admin.visit(f"/admin/access_requests/accessrequest/{request.pk}/change/")
    problems["admin"] = admin.close()

    assert problems == {"visitor": [], "applicant": [], "reviewer": [], "management": [], "admin": []}


def test_an_inline_script_is_refused_and_reported(browser, live_server):
    """The detector works: a script added to the page by the page itself is refused and reported."""
    visitor = Watched(browser, live_server)
    visitor.visit("/")
    visitor.page.evaluate("""() => { const s = document.createElement('script');
                                     s.textContent = 'window.injected = true;'; document.body.append(s); }""")
    assert visitor.page.evaluate("() => window.injected === undefined")
    problems = visitor.close()
    assert any(p.startswith("violation: script-src") for p in problems), problems
