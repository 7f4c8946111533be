"""Domain errors become HTTP responses in one place: 400, 403, 404 or 409 with a clear message."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

from hdh_access.lib.errors import DomainError


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
        return render(request, "error.html", {"error": exception}, status=exception.http_status)
