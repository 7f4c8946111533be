"""Domain errors become HTTP responses in one place: 400, 403, 404 or 409 with a clear message.

Views never catch a ``DomainError``: a refused write reaches this middleware, which answers
JSON to an API client and otherwise the error page, in the site's layout, with the message,
what is missing (``details["problems"]``, e.g. an incomplete dossier), what the user typed (a
refused answer or draft is not lost: its text is on the page to copy) and a link back to the
page the user came from (the referer, when it is on this site).
"""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from hdh_access.lib.errors import DomainError

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
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse({"error": exception.code, "message": exception.message}, status=exception.http_status)
        problems = exception.details.get("problems") or []
        return render(request, "error.html", {
            "error": exception, "problems": problems, "typed": typed_text(request), "back_url": back_url(request),
        }, status=exception.http_status)
