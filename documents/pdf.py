"""HTML to PDF with WeasyPrint, from Django templates, offline.

Rendering fetches nothing from the network and reads no file outside the site's static files:
``StaticFetcher`` answers only the static URLs of the page (the print stylesheet and the DSFR's
Marianne fonts, found by the staticfiles finders or, under their hashed names, in STATIC_ROOT) and
refuses every other URL (http, https, file, data). User text reaches the templates escaped, so it
cannot name a resource either; the fetcher is the second lock. The PDF is tagged (PDF/UA-1: headings, tables and reading order for
screen readers) and carries the page's language.

The print stylesheet is parsed, and the fonts it declares loaded, once per thread (``print_style``)
rather than for every document: that was a third of a receipt's CPU, and the submission's email
draws one receipt per request.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import posixpath
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import translation
from weasyprint.logger import LOGGER
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

# The documents' base URL: a host that cannot exist (RFC 2606), so that no relative URL can
# resolve to a real server; the fetcher serves its STATIC_URL paths from the static files.
BASE_URL = "https://documents.invalid/"
PDF_VARIANT = "pdf/ua-1"
STYLESHEET = "documents/print.css"


class StaticFetcher(URLFetcher):
    """Serves this site's static files under ``BASE_URL``; refuses everything else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("https",), allow_redirects=False, fail_on_errors=False)

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        path = static_path(url)
        if path is None:
            raise ValueError(f"documents: only static files are fetched, not {url[:200]!r}")
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        with open(path, "rb") as handle:
            body = handle.read()
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


def static_path(url: str) -> str | None:
    """The file of a static URL under ``BASE_URL`` (``…/static/documents/print.css``), or None."""
    parts = urlsplit(url)
    base = urlsplit(BASE_URL)
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith(prefix):
        return None
    relative = unquote(parts.path[len(prefix):])
    normal = posixpath.normpath(relative)
    if normal != relative or normal.startswith(("/", "..")) or "\\" in normal or "\x00" in normal:
        return None
    found = finders.find(normal)
    if isinstance(found, str):
        return found
    # With DEBUG off, {% static %} names the hashed copies that only `collectstatic` wrote (and the
    # print stylesheet there names the hashed fonts): read them from STATIC_ROOT.
    collected = Path(settings.STATIC_ROOT) / normal
    return str(collected) if collected.is_file() else None


_threads = threading.local()
# A stylesheet parsed in a thread serves it this long at most: its fonts' files live in a temporary
# folder, which a system's cleaning of /tmp may remove after some days.
STYLE_MAX_AGE_SECONDS = 3600


class _FontFailures(logging.Filter):
    """WeasyPrint's warnings, in this thread, that a font face could not be loaded (the stylesheet
    is then used as it is, but not kept: the next document tries the fonts again)."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread and str(record.msg).startswith("Font-face"):
            self.count += 1
        return True


def print_style() -> tuple[weasyprint.CSS, FontConfiguration]:
    """The documents' stylesheet, parsed with its fonts loaded into its font configuration; once per
    thread (a font configuration holds Pango and fontconfig objects, which threads do not share),
    and again when the file changes (``runserver`` reads the static files in place), after an
    hour, or when one of its fonts could not be loaded. The stylesheet missing from the static
    files is an error (a PDF without it would be unreadable), as its ``{% static %}`` name
    missing from the manifest already is.

    Given to WeasyPrint as a user stylesheet: the documents' templates have no style of their own
    (no ``<style>``, no ``style=""``), which would otherwise come before it."""
    url = BASE_URL.rstrip("/") + static(STYLESHEET)
    path = static_path(url)
    if path is None:
        raise ValueError(f"documents: the stylesheet {url!r} is not among the static files")
    found = os.stat(path)
    version = (url, path, found.st_mtime_ns, found.st_size)
    now = time.monotonic()
    cached = getattr(_threads, "style", None)
    if cached is not None and cached[0] == version and now - cached[1] < STYLE_MAX_AGE_SECONDS:
        return cached[2], cached[3]
    fonts = FontConfiguration()
    failures = _FontFailures()
    LOGGER.addFilter(failures)
    try:
        stylesheet = weasyprint.CSS(url=url, url_fetcher=StaticFetcher(), font_config=fonts)
    finally:
        LOGGER.removeFilter(failures)
    _threads.style = (version, now, stylesheet, fonts) if not failures.count else None
    return stylesheet, fonts


def render_pdf(template_name: str, context: dict, *, language: str) -> bytes:
    """The PDF of ``template_name`` rendered with ``context`` in ``language``, styled by the
    documents' stylesheet (``print_style``)."""
    with translation.override(language):
        html = render_to_string(template_name, {**context, "language": language})
    stylesheet, fonts = print_style()
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFetcher())
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts, pdf_variant=PDF_VARIANT)
