"""Every API resource read has an ETag: the views give their own (requests, tasks, subscriptions:
from the row's version, api.etags); any other successful GET under /api/v1/ gets one from its
content, and ``If-None-Match`` with it answers 304 (lists, events, messages, attachments'
metadata, the catalogue, the delay figures)."""

from __future__ import annotations

import hashlib

from django.utils.cache import get_conditional_response

from hdh_access.lib.problems import API_PREFIX

API_V1 = f"{API_PREFIX}v1/"


class ContentETagMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (request.method not in ("GET", "HEAD") or response.status_code != 200 or response.streaming
                or not request.path.startswith(API_V1)):
            return response
        if not response.has_header("ETag"):
            response["ETag"] = f'W/"{hashlib.sha256(response.content).hexdigest()[:32]}"'
        return get_conditional_response(request, etag=response["ETag"], response=response)
