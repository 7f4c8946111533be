"""Browser tests: Playwright for Python driving Debian's Chromium against a live server.

`playwright install` cannot download browsers here, so the tests launch /usr/bin/chromium
(installed by `make test`). axe-core comes from npm (node_modules) and is injected in the page.
"""

from __future__ import annotations

import os
import threading
import time
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


class _InFlight:
    """Counts the live server's requests until their response is closed (its database work done)."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.count += 1
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return _Closing(result, self._done)

    def _done(self) -> None:
        with self.lock:
            self.count -= 1


class _Closing:
    def __init__(self, result, done):
        self.result, self.done = result, done

    def __iter__(self):
        return iter(self.result)

    def close(self) -> None:
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self.done()


@pytest.fixture(autouse=True)
def _live_server_idle_before_flush(request):
    """A browser may still send a request as a test ends (a page hidden when its context closes
    sends the draft's autosave). The database flush between transactional tests would then
    deadlock with it: wait, after the test and its browser fixtures, until the live server has
    answered everything it received, before the flush runs."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")  # set up first, so torn down (flushed) after this
    httpd = request.getfixturevalue("live_server").thread.httpd
    counter = httpd.get_app()
    if not isinstance(counter, _InFlight):
        counter = _InFlight(counter)
        httpd.set_app(counter)
    yield
    time.sleep(0.3)  # a request the browser sent as its context closed reaches the server
    deadline = time.monotonic() + 15
    while counter.count and time.monotonic() < deadline:
        time.sleep(0.05)


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
