"""What a user reaches through the API: exactly what the pages let them reach.

A request is visible when the portal shows it to them (their organisation's, their own) or the
back office does (submitted ones, a data holder's staff only those asking for their datasets).
Attachments and messages follow the same two sides: the applicant's side never reads an internal
note nor its documents. A data holder's staff see only their holder's tasks.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from access_requests.models import AccessRequest, Attachment, HolderTask, Message
from access_requests.roles import holder_of, sees_every_request
from access_requests.selectors import attachments_for_applicant, event_log
from backoffice import selectors as backoffice
from catalog.selectors import dataset_list
from portal import selectors as portal


def _applicant_side(user) -> QuerySet[AccessRequest]:
    return portal.requests_for_applicant(user)


def _reviewer_side(user) -> QuerySet[AccessRequest]:
    return backoffice.visible_requests(user)


def visible_requests(user) -> QuerySet[AccessRequest]:
    return AccessRequest.objects.filter(
        Q(pk__in=_applicant_side(user).values("pk")) | Q(pk__in=_reviewer_side(user).values("pk")))


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
    return _reviewer_side(user).filter(pk=request.pk).exists()


def messages_of(user, request: AccessRequest) -> QuerySet[Message]:
    """The thread as the user's side reads it (internal notes for the reviewers only)."""
    messages = Message.objects.filter(request_id=request.pk).select_related("event")
    if not is_reviewer_side(user, request):
        messages = messages.filter(internal=False)
    return messages.prefetch_related(Prefetch("attachments", Attachment.objects.order_by("uploaded_at", "pk")))


def visible_attachments(user) -> QuerySet[Attachment]:
    return Attachment.objects.filter(
        Q(pk__in=attachments_for_applicant().filter(request__in=_applicant_side(user)).values("pk"))
        | Q(request__in=_reviewer_side(user)))


def visible_tasks(user) -> QuerySet[HolderTask]:
    tasks = HolderTask.objects.filter(request__in=visible_requests(user))
    holder = holder_of(user)
    if holder is not None and not sees_every_request(user):
        tasks = tasks.filter(Q(holder_id=holder) | Q(request__in=_applicant_side(user)))
    return tasks.select_related("holder", "request")
