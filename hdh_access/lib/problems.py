"""RFC 9457 problem details: the one shape of every error the API answers (api/problems.py maps
the errors to it; hdh_access/error_pages.py answers it for /api/ addresses no view matched)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import JsonResponse

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "/api/problems/"
API_PREFIX = "/api/"


def problem(code: str, http_status: int, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": f"{TYPE_PREFIX}{code}", "title": HTTPStatus(http_status).phrase, "status": http_status,
            "detail": detail, "code": code, **extra}


def problem_response(code: str, http_status: int, detail: str) -> JsonResponse:
    return JsonResponse(problem(code, http_status, detail), status=http_status, content_type=PROBLEM_JSON)


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)
