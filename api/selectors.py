"""What a user reaches through the API: exactly what the pages let them reach.

A request is visible when the portal shows it to them (their organisation's, their own) or the
back office does (submitted ones, a data holder's staff only those asking for their datasets).
Attachments and messages follow the same two sides: the applicant's side never reads an internal
note nor its documents. A data holder's staff see only their holder's tasks.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from access_requests import visibility
from access_requests.models import AccessRequest, Attachment, HolderTask, Message
from access_requests.selectors import attachments_for_applicant, event_log
from catalog.selectors import dataset_list


def visible_requests(user) -> QuerySet[AccessRequest]:
    return visibility.readable(user)


def request_list(user) -> QuerySet[AccessRequest]:
    return (visible_requests(user).select_related("organisation", "delay")
            .prefetch_related(Prefetch("datasets", queryset=dataset_list())))


def request_detail(user, reference: str) -> AccessRequest | None:
    return (request_list(user).prefetch_related(
        Prefetch("holder_tasks", queryset=HolderTask.objects.select_related("holder").order_by("holder__name", "pk")))
        .filter(reference=reference).first())


def events_of(request: AccessRequest):
    return event_log().filter(request_id=request.pk)


def is_reviewer_side(user, request: AccessRequest) -> bool:
    return visibility.side_of(user, request) == visibility.REVIEWER


def messages_of(user, request: AccessRequest) -> QuerySet[Message]:
    """The thread as the user's side reads it (internal notes for the reviewers only)."""
    messages = Message.objects.filter(request_id=request.pk).select_related("event")
    if not is_reviewer_side(user, request):
        messages = messages.filter(internal=False)
    return messages.prefetch_related(Prefetch("attachments", Attachment.objects.order_by("uploaded_at", "pk")))


def visible_attachments(user) -> QuerySet[Attachment]:
    return Attachment.objects.filter(
        Q(pk__in=attachments_for_applicant().filter(request__in=visibility.applicant_side(user)).values("pk"))
        | Q(request__in=visibility.reviewer_side(user)))


def visible_tasks(user) -> QuerySet[HolderTask]:
    return visibility.readable_tasks(user).select_related("holder", "request")
