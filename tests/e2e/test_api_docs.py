"""Swagger UI at /api/docs/ in Chromium: it draws every operation of the schema from this site's
own files, under the site's Content-Security-Policy, and a signed-in user tries a call with their
session."""

from __future__ import annotations

import pytest

from access_requests.workflow import Role
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login
from tests.e2e.test_csp import Watched

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_shows_the_api_under_the_csp(browser, live_server):
    make_user("secretariat@hdh.example", role=Role.SECRETARIAT)
    watched = Watched(browser, live_server)
    page = watched.page
    login(page, "secretariat@hdh.example", PASSWORD)
    page.wait_for_url("**/backoffice/**")
    watched.visit("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "HDH access API" in page.inner_text(".swagger-ui .info .title")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/requests/{reference}/transitions/" in " ".join(paths)
    # Try GET /api/v1/catalogue/holders/ with the browser's session.
    page.click("#operations-catalogue-catalogue_holders_list .opblock-summary")
    page.click("#operations-catalogue-catalogue_holders_list .try-out__btn")
    page.click("#operations-catalogue-catalogue_holders_list .execute")
    page.wait_for_selector("#operations-catalogue-catalogue_holders_list .live-responses-table .response-col_status")
    statuses = page.locator("#operations-catalogue-catalogue_holders_list .live-responses-table "
                            ".response-col_status").all_inner_texts()
    assert any(s.strip().startswith("200") for s in statuses), statuses
    assert watched.close() == []
