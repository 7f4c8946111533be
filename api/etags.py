"""Entity tags and the writes' preconditions.

A request's ETag changes whenever it is saved (every transition, edit or assignment moves
``updated_at``); a holder task's whenever its state, due date, assignee or delivery changes.
Writes need ``If-Match`` with the current ETag: none is 428, a stale one 412 (for machines, the
pages' 409 on a stale tab). The check and the write are not one lock, so the services also get the
state the client saw (``expected_state``) and refuse under the row lock if it moved meanwhile.
"""

from __future__ import annotations

import hashlib

from access_requests.models import AccessRequest, HolderTask
from api.problems import PreconditionFailed, PreconditionRequired


def request_etag(request: AccessRequest) -> str:
    return f'"r{request.pk}-{int(request.updated_at.timestamp() * 1_000_000)}"'


def task_etag(task: HolderTask) -> str:
    parts = (task.pk, task.state, task.entered_at, task.due_date, task.assignee_id, task.delivered_at)
    return f'"t{task.pk}-{hashlib.sha256(repr(parts).encode()).hexdigest()[:16]}"'


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def require_match(http_request, current: str) -> None:
    """428 without If-Match, 412 when it names no current ETag (``*`` matches any)."""
    header = http_request.headers.get("If-Match", "")
    if not header.strip():
        raise PreconditionRequired()
    tags = _tags(header)
    if "*" not in tags and current not in tags:
        raise PreconditionFailed()


def not_modified(http_request, current: str) -> bool:
    header = http_request.headers.get("If-None-Match", "")
    tags = _tags(header)
    return "*" in tags or current in tags
