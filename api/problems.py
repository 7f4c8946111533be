"""Errors as RFC 9457 problem details (``application/problem+json``), in one place.

Every error of the API has a stable ``type`` per kind: ``/api/problems/<code>``, where ``code`` is
the domain error's (hdh_access.lib.errors, access_requests.exceptions: ``illegal_transition``,
``not_permitted``…) or DRF's (``not_authenticated``, ``throttled``…). That URL describes it. The
body also carries ``title`` (the HTTP status phrase), ``status``, ``detail`` (the message the
pages show, in the request's language), ``code``, and for invalid input ``errors`` (per field).

A stale ``If-Match`` answers 412 (``precondition_failed``), none 428 (``precondition_required``);
a domain ``ConcurrentUpdate`` (the request moved between the check and the write) is a 412 too.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from hdh_access.lib.errors import ConcurrentUpdate, DomainError
from hdh_access.lib.problems import PROBLEM_JSON, TYPE_PREFIX, problem

__all__ = ["PROBLEM_JSON", "TYPE_PREFIX", "handle", "problem", "problem_types"]



class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"
    default_detail = "If-Match is required for this write."


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = "The resource changed since the ETag given in If-Match."


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool, list, type(None))) else str(v) for k, v in details.items()}


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: domain errors, Django's 404/403 and DRF's own, as problems."""
    if isinstance(exc, DomainError):
        http_status = status.HTTP_412_PRECONDITION_FAILED if isinstance(exc, ConcurrentUpdate) else exc.http_status
        code = "precondition_failed" if isinstance(exc, ConcurrentUpdate) else exc.code
        extra = _json_safe(exc.details)
        if code != exc.code:
            extra["error"] = exc.code
        return Response(problem(code, http_status, exc.message, **extra), status=http_status,
                        content_type=PROBLEM_JSON)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)  # DRF's: its headers (WWW-Authenticate, Retry-After)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        body = problem("invalid_input", exc.status_code, str(_first_message(exc.detail)), errors=exc.detail)
    else:
        body = problem(_code_of(exc), exc.status_code, str(exc.detail))
        if isinstance(exc, exceptions.Throttled) and response.get("Retry-After"):
            body["retry_after"] = int(response["Retry-After"])
    response.data = body
    response.content_type = PROBLEM_JSON
    return response


def _first_message(detail: Any) -> Any:
    while isinstance(detail, (list, dict)) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return detail or "Invalid input."


def problem_types() -> dict[str, dict[str, Any]]:
    """Every documented problem type by code: the domain errors and the API's own."""
    found: dict[str, dict[str, Any]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        found.setdefault(cls.code, {"status": cls.http_status, "description": (cls.__doc__ or "").strip()})
    found["precondition_failed"] = {"status": 412, "description": PreconditionFailed.default_detail}
    found["precondition_required"] = {"status": 428, "description": PreconditionRequired.default_detail}
    for api_error in (exceptions.ParseError, exceptions.AuthenticationFailed, exceptions.NotAuthenticated,
                exceptions.PermissionDenied, exceptions.NotFound, exceptions.MethodNotAllowed,
                exceptions.NotAcceptable, exceptions.UnsupportedMediaType, exceptions.Throttled):
        found.setdefault(str(api_error.default_code),
                         {"status": api_error.status_code, "description": str(api_error.default_detail)})
    found.setdefault("read_only_token", {"status": 403, "description": "A read-scoped token cannot write."})
    found["invalid_input"]["description"] = "The input is invalid; errors lists the messages per field."
    return found
