"""The roadmap's indicators in Chromium, for an anonymous visitor (issue 18): every chart drawn by
chart.js from the page's own files, each with its table, no serious accessibility violation, no
Content-Security-Policy violation; the English page too."""

from __future__ import annotations

import pytest

from tests.backoffice.helpers import backoffice_settings, import_sample  # noqa: F401  (autouse)
from tests.e2e.conftest import screenshot, serious_accessibility_violations
from tests.e2e.test_csp import Watched

pytestmark = pytest.mark.django_db(transaction=True)

DRAWN = """() => Array.from(document.querySelectorAll("canvas")).map(c => [c.id, Boolean(window.Chart
    && Chart.getChart(c)), c.width > 0])"""


def test_an_anonymous_visitor_reads_the_indicators_with_their_charts(browser, live_server, tmp_path):
    import_sample(tmp_path, 120)
    visitor = Watched(browser, live_server)
    page = visitor.page
    visitor.visit("/indicateurs/")
    assert page.locator("h1").inner_text()
    canvases = page.evaluate(DRAWN)
    assert len(canvases) >= 6
    assert all(drawn and wide for _id, drawn, wide in canvases), canvases
    for canvas_id, _drawn, _wide in canvases:  # each chart has its data table
        assert page.locator(f"#table-{canvas_id.removeprefix('chart-')}").count() == 1, canvas_id
    assert serious_accessibility_violations(page) == []
    screenshot(page, "indicators")
    visitor.visit("/en/indicators/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert all(drawn for _id, drawn, _wide in page.evaluate(DRAWN))
    assert serious_accessibility_violations(page) == []
    assert visitor.close() == []
