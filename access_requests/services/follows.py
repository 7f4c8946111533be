"""A reviewer follows a request, or stops following it.

Following is a reviewer's own choice, not a step of the dossier: it writes no event and sends no
email itself. While a follow row exists, notifications.messages emails its user about each event on
the request that someone else made, as long as the user may still act as a reviewer on it.
"""

from __future__ import annotations

from django.db import transaction

from access_requests.models import Follow
from access_requests.services.core import acting_role, load_for_update
from access_requests.workflow import REVIEWER_ROLES


def follow(*, request_id: int, actor) -> Follow:
    """``actor`` follows the request (again: nothing changes). Only a reviewer who may act on it
    (any reviewer role; a data holder's staff for their own datasets): else ActionNotPermitted."""
    with transaction.atomic():
        request = load_for_update(request_id)
        acting_role(request, actor, REVIEWER_ROLES)
        row, _created = Follow.objects.get_or_create(user=actor, request=request)
    return row


def unfollow(*, request_id: int, actor) -> bool:
    """``actor`` stops following the request; whether they followed it. Anyone may stop, even
    after losing access to the request (their follow row then only waits to be removed)."""
    with transaction.atomic():
        request = load_for_update(request_id)
        deleted, _by_model = Follow.objects.filter(user=actor, request=request).delete()
    return bool(deleted)
