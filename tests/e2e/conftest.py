"""Browser tests: Playwright for Python driving Debian's Chromium against a live server.

`playwright install` cannot download browsers here, so the tests launch /usr/bin/chromium
(installed by `make test`). axe-core comes from npm (node_modules) and is injected in the page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# body are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots are test artefacts: var/artefacts/screenshots/ (ignored by git) unless HDH_SCREENSHOTS_DIR
# names another folder. Only `make screenshots` points it at docs/screenshots/, the published ones.
DEFAULT_SCREENSHOTS = ROOT / "var" / "artefacts" / "screenshots"


def screenshots_dir() -> Path:
    configured = os.environ.get("HDH_SCREENSHOTS_DIR", "").strip()
    return ROOT / configured if configured else DEFAULT_SCREENSHOTS  # an absolute value replaces ROOT


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def login(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]:has-text('Se connecter')")


def serious_accessibility_violations(page) -> list[dict]:
    """axe-core violations of impact serious or critical on the current page.

    axe is evaluated through the DevTools protocol: a <script> tag holding its source would be an
    inline script, which the site's Content-Security-Policy refuses (script-src 'self')."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def screenshot(page, name: str) -> Path:
    folder = screenshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
