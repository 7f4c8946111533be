"""Reads of the requests app shared by the pages: the event log in its one order.

The portal and the back office keep their own selectors (what each audience may see); what
both read the same way lives here.
"""

from __future__ import annotations

from django.db.models import QuerySet

from access_requests.models import AccessRequest, Event, Follow
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


def followers_of(request: AccessRequest) -> list:
    """The users who follow ``request`` and may still act on it as reviewers (active, with a
    reviewer role on it: a data holder's staff only while it asks for their datasets), oldest
    follow first. Someone who lost that access keeps their follow row but is not listed."""
    follows = Follow.objects.filter(request_id=request.pk, user__is_active=True).select_related("user__profile")
    return [f.user for f in follows.order_by("created_at", "id") if user_roles(f.user, request) & REVIEWER_ROLES]
