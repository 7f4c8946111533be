"""Domain errors become HTTP responses in one place: 400, 403, 404 or 409 with a clear message.

Views never catch a ``DomainError``: a refused write reaches this middleware, which answers
JSON to an API client and otherwise the error page, in the site's layout, with the message,
what is missing (``details["problems"]``, e.g. an incomplete dossier), what the user typed (a
refused answer or draft is not lost: its text is on the page to copy) and a link back to the
page the user came from (the referer, when it is on this site).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from hdh_access.lib.errors import DomainError, InvalidInput
from hdh_access.lib.problems import is_api, problem_response

# Form fields never echoed back: secrets and the form's own bookkeeping.
HIDDEN_FIELDS = ("csrfmiddlewaretoken", "expected_state", "next")
SECRET_MARKERS = ("password", "token", "secret")


def typed_text(request) -> list[str]:
    """The non-empty texts the user posted, in form order, without secrets."""
    if request.method != "POST":
        return []
    sensitive = getattr(request, "sensitive_post_parameters", ())
    texts: list[str] = []
    for name, values in request.POST.lists():
        if name in HIDDEN_FIELDS or any(marker in name.lower() for marker in SECRET_MARKERS):
            continue
        if sensitive == "__ALL__" or name in sensitive:
            continue
        texts.extend(value for value in values if len(value.strip()) > 1 and not value.strip().isdigit())
    return texts


def back_url(request) -> str:
    """The page the user came from, if it is on this site; else the home page."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return referer
    return "/"


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        return _error_response(request, exception, problems=exception.details.get("problems") or [],
                               typed=typed_text(request), back=back_url(request))


def _error_response(request, exception: DomainError, *, problems=(), typed=(), back: str = "/"):
    """Problem details under /api/, JSON to a page's script asking for it, otherwise the error
    page in the site's layout."""
    if is_api(request):
        return problem_response(exception.code, exception.http_status, exception.message)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"error": exception.code, "message": exception.message}, status=exception.http_status)
    return render(request, "error.html", {"error": exception, "problems": problems, "typed": typed, "back_url": back},
                  status=exception.http_status)


def carries_nul(request) -> bool:
    """Whether the path, the query string or a posted form field holds a NUL character, which
    PostgreSQL refuses in text (a 500 if it reached a query)."""
    # The raw query string, percent-decoded, holds every GET key and value.
    if "\x00" in request.path or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    if request.method == "POST":
        return any("\x00" in key or "\x00" in value for key, values in request.POST.lists() for value in values)
    return False


class RefuseNulMiddleware:
    """No text with a NUL reaches a view (hence the database): a clear 400 instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if carries_nul(request):
            return _error_response(request, InvalidInput(_("La requête contient un caractère interdit (NUL).")))
        return self.get_response(request)


class NoStoreWhenSignedInMiddleware:
    """Pages and downloads of a signed-in user are never kept by a browser or proxy cache
    (``Cache-Control: no-store``): a shared computer's back button shows nothing private."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
