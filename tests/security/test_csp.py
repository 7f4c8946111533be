"""Content-Security-Policy (issue #13): every page carries the strict policy, and no page holds what
the policy would refuse (an inline script, a <style> block, a style attribute).

The browser proves it page by page in tests/e2e/test_csp.py; these tests are the fast guard.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from access_requests.workflow import State
from tests.conftest import with_form_token

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# What the policy refuses in a page: a <script> without src (a JSON data block is not run), a
# <style> element, a style attribute, an inline event handler.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def refused_inline(html: str) -> list[str]:
    return [match.group(0) for pattern in (INLINE_SCRIPT, STYLE_ELEMENT, STYLE_ATTRIBUTE, EVENT_HANDLER)
            for match in pattern.finditer(html)]


def test_an_anonymous_page_carries_the_strict_policy(client):
    response = client.get("/")
    assert policy_of(response) == EXPECTED_POLICY
    assert "unsafe" not in response["Content-Security-Policy"]


def test_a_signed_in_page_and_the_login_form_carry_the_strict_policy(client, applicant):
    assert policy_of(client.get(reverse("login"))) == EXPECTED_POLICY
    client.force_login(applicant)
    response = client.get(reverse("portal:list"))
    assert response.status_code == 200
    assert policy_of(response) == EXPECTED_POLICY


def test_the_health_check_and_the_admin_carry_the_policy_too(client, superuser):
    assert policy_of(client.get("/healthz")) == EXPECTED_POLICY
    client.force_login(superuser)
    assert policy_of(client.get("/admin/")) == EXPECTED_POLICY


def test_the_main_pages_of_each_kind_of_user_hold_no_inline_script_or_style(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    pages = {
        None: ["/", reverse("login"), reverse("accounts:signup"), reverse("accounts:password_reset")],
        "applicant": [reverse("portal:list"), reverse("portal:create"),
                      reverse("portal:detail", args=[request.reference]), reverse("accounts:profile")],
        "secretariat": [reverse("backoffice:queue"), reverse("backoffice:detail", args=[request.reference])],
        "management": [reverse("backoffice:delays")],
    }
    for who, paths in pages.items():
        client.logout()
        if who:
            client.force_login(personas[who])
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (who, path)
            assert refused_inline(response.content.decode()) == [], (who, path)


def test_the_dashboard_reads_its_figures_from_a_json_block_and_draws_them_from_a_static_script(client, management):
    client.force_login(management)
    html = client.get(reverse("backoffice:delays")).content.decode()
    assert '<script id="dashboard-data" type="application/json">' in html
    assert re.search(r'<script src="/static/backoffice/delays-charts\.js">', html)
    assert (ROOT / "backoffice" / "static" / "backoffice" / "delays-charts.js").read_text().count("new Chart(") == 4


def test_the_error_page_keeps_what_was_typed_without_a_style_attribute(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["secretariat"])
    response = client.post(reverse("backoffice:act", args=[request.reference, "request_information"]), with_form_token(
        client, {"expected_state": State.SUBMITTED, "question": "Protocole signé ?", "reason": "incomplete"}))
    assert response.status_code == 409
    html = response.content.decode()
    assert '<blockquote class="fr-text--sm hdh-prewrap">Protocole signé ?</blockquote>' in html
    assert "/static/hdh/site.css" in html
    assert refused_inline(html) == []


def page_templates() -> list[Path]:
    """The templates that render pages: every project template but the emails (a mail client needs
    inline styles, and a Content-Security-Policy header does not apply to a message)."""
    folders = [ROOT / "templates", *(ROOT / app / "templates" for app in ("accounts", "portal", "backoffice"))]
    return sorted(path for folder in folders for path in folder.rglob("*.html") if "emails" not in path.parts)


def test_no_page_template_holds_an_inline_script_or_style():
    templates = page_templates()
    assert len(templates) > 30
    found = {str(path.relative_to(ROOT)): refused_inline(path.read_text(encoding="utf-8")) for path in templates}
    assert {name: hits for name, hits in found.items() if hits} == {}
