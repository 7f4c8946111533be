"""Reads of the requests app shared by the pages: the event log in its one order, the thread of
messages as each side may read it, the external experts' invitations.

The portal and the back office keep their own selectors (what each audience may see); what
both read the same way lives here.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch, QuerySet

from access_requests.models import AccessRequest, Attachment, Event, ExpertInvitation, Follow, Message, MessageReceipt
from access_requests.roles import user_roles
from access_requests.workflow import REVIEWER_ROLES

# The event log's order: by instant, then by insertion (two events can share an instant).
EVENT_ORDER = ("at", "id")


def event_log() -> QuerySet[Event]:
    """Every event in the log's order, with its actor (for a prefetch or a filter)."""
    return Event.objects.select_related("actor").order_by(*EVENT_ORDER)


def events_of(request: AccessRequest) -> list[Event]:
    """One request's events, oldest first."""
    return list(event_log().filter(request_id=request.pk))


# --- the thread: what each side may read -------------------------------------------------------
def thread(request: AccessRequest, *, for_applicant: bool, person_relations: Sequence[str] = ()) -> list[Message]:
    """The request's messages, oldest first, with their attachments and read receipts.

    ``for_applicant``: the applicant's side never reads an internal note, nor its attachments;
    every page and download of theirs reads the thread through here. ``person_relations``: what
    the page joins to name the people (accounts.people.PERSON_RELATIONS).
    """
    messages = Message.objects.filter(request_id=request.pk)
    if for_applicant:
        messages = messages.filter(internal=False)
    people = list(person_relations)
    return list(
        messages.select_related("author", *(f"author__{p}" for p in people), "event")
        .prefetch_related(
            Prefetch("attachments", Attachment.objects.order_by("uploaded_at", "pk")),
            Prefetch("receipts", MessageReceipt.objects.select_related("user", *(f"user__{p}" for p in people))
                     .order_by("read_at", "pk")),
        )
        .order_by("created_at", "id"))


def dossier_attachments(request: AccessRequest) -> QuerySet[Attachment]:
    """The documents of the dossier itself (not those sent with a message)."""
    return Attachment.objects.filter(request_id=request.pk, message__isnull=True).order_by("uploaded_at", "pk")


def attachments_for_applicant() -> QuerySet[Attachment]:
    """Every attachment the applicant's side may download: the dossier's and those of the
    messages they may read (never an internal note's)."""
    return Attachment.objects.exclude(message__internal=True)


# --- external experts ---------------------------------------------------------------------------
def expert_invitation_for_token(token: str) -> ExpertInvitation | None:
    """The invitation whose link carries ``token`` (active or not), or None."""
    if not token or len(token) > 200:
        return None
    return (ExpertInvitation.objects.select_related("request")
            .filter(token_hash=ExpertInvitation.hash_token(token)).first())


def expert_invitations_of(request: AccessRequest) -> list[ExpertInvitation]:
    """The request's invitations, newest first, with who invited and revoked."""
    return list(ExpertInvitation.objects.filter(request_id=request.pk)
                .select_related("invited_by", "revoked_by").order_by("-created_at", "-id"))


def followers_of(request: AccessRequest) -> list:
    """The users who follow ``request`` and may still act on it as reviewers (active, with a
    reviewer role on it: a data holder's staff only while it asks for their datasets), oldest
    follow first. Someone who lost that access keeps their follow row but is not listed."""
    follows = Follow.objects.filter(request_id=request.pk, user__is_active=True).select_related("user__profile")
    return [f.user for f in follows.order_by("created_at", "id") if user_roles(f.user, request) & REVIEWER_ROLES]
