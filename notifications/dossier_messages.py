"""Emails about a dossier's thread: new messages, batched, and an external expert's invitation.

New messages (``notify_new_messages``, a periodic job every minute and ``manage.py
notify_messages``): once the first message of a request still without its email is
HDH_MESSAGE_EMAIL_DELAY_SECONDS old, every such message of that request is claimed
(``services.claim_unnotified``: locked, marked notified) and each recipient gets ONE email for
all of those they are told of, in the same transaction: a burst of messages gives one email.
The email says how many messages wait and links to the dossier's thread; it never quotes a
message (health data stay on the platform, behind a sign-in).

Who is told of a message:

- the reviewers wrote it: the project leader and the members of the applicant organisation;
- the applicant's team wrote it: the request's assignee or, when nobody is assigned, the users
  holding the roles that own its current stage (the stage it is paused from, while it waits on
  the applicant: ``workflow.acting_roles``);
- an internal note: the same reviewers, never anyone on the applicant's side;

never its author, nor someone who has already read it (a read receipt: they were on the page).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest, ExpertInvitation, Message, MessageReceipt
from access_requests.workflow import State, acting_roles
from accounts.people import person_name
from hdh_access.lib.urls import absolute_reverse
from notifications.messages import language_of, render, request_context, role_members
from notifications.models import OutboxMessage
from notifications.outbox import queue

logger = logging.getLogger(__name__)


# --- who is told ---------------------------------------------------------------------------------
def applicant_side(request: AccessRequest) -> list:
    """The project leader and the active members of the applicant organisation."""
    condition = Q(pk=request.applicant_id) if request.applicant_id else Q(pk__in=[])
    if request.organisation_id:
        condition |= Q(profile__organisation_id=request.organisation_id)
    return list(get_user_model().objects.filter(condition, is_active=True).exclude(email="")
                .select_related("profile").distinct().order_by("pk"))


def reviewer_side(request: AccessRequest) -> list:
    """The request's assignee; when nobody is assigned (or the assignee left), the users holding
    the roles that own its current stage."""
    assignee = request.assignee
    if assignee is not None and assignee.is_active and assignee.email:
        return [assignee]
    stage = request.paused_from if request.state == State.AWAITING_APPLICANT and request.paused_from else request.state
    seen: dict[int, Any] = {}
    for role in sorted(acting_roles(stage)):
        for user in role_members(role, request):
            seen.setdefault(user.pk, user)
    if not seen:
        logger.warning("messages: nobody with an email address to tell of a message on %s", request.reference)
    return list(seen.values())


def recipients(message: Message, request: AccessRequest, *, applicants: list, reviewers: list) -> list:
    """Who is told of ``message`` (module docstring), author excluded."""
    people = reviewers if message.from_applicant or message.internal else applicants
    return [user for user in people if user.pk != message.author_id]


# --- the batch -----------------------------------------------------------------------------------
@dataclass
class Batch:
    """What a run did: the requests whose messages it claimed, the emails it wrote."""

    requests: int = 0
    messages: int = 0
    emails: list[OutboxMessage] = field(default_factory=list)


def notify_new_messages(*, now: dt.datetime | None = None) -> Batch:
    """Claim the messages due for their email and write the emails (module docstring). Idempotent:
    a message is claimed once, and each email's outbox key names its recipient and messages."""
    now = now or timezone.now()
    due = now - dt.timedelta(seconds=settings.HDH_MESSAGE_EMAIL_DELAY_SECONDS)
    batch = Batch()
    for request_id in services.requests_with_unnotified_messages(older_than=due):
        with transaction.atomic():
            claimed = services.claim_unnotified(request_id=request_id, now=now)
            if not claimed:
                continue  # another sender has them
            request = AccessRequest.objects.select_related("assignee", "organisation").get(pk=request_id)
            batch.requests += 1
            batch.messages += len(claimed)
            batch.emails += _queue_emails(request, claimed)
    return batch


def _queue_emails(request: AccessRequest, claimed: list[Message]) -> list[OutboxMessage]:
    applicants = applicant_side(request)
    reviewers = reviewer_side(request)
    read = set(MessageReceipt.objects.filter(message__in=claimed).values_list("message_id", "user_id"))
    told: dict[int, list[Message]] = defaultdict(list)
    users: dict[int, Any] = {}
    for message in claimed:
        for user in recipients(message, request, applicants=applicants, reviewers=reviewers):
            if (message.pk, user.pk) not in read:
                told[user.pk].append(message)
                users[user.pk] = user
    applicant_ids = {user.pk for user in applicants}
    rows = []
    for pk, messages in told.items():
        user = users[pk]
        for_applicant = pk in applicant_ids and not any(m.from_applicant or m.internal for m in messages)
        anchor = "#messages"
        url = (absolute_reverse("portal:detail", request.reference) if for_applicant
               else absolute_reverse("backoffice:detail", request.reference)) + anchor
        language = language_of(user)
        rendered = render("new_messages", {
            **request_context(request), "count": len(messages), "internal": sum(1 for m in messages if m.internal),
            "url": url, "for_applicant": for_applicant,
        }, language=language)
        key = f"messages:{request.pk}:{max(m.pk for m in messages)}:{pk}"
        row, created = queue(key=key, to=user.email, language=language, rendered=rendered)
        if created:
            rows.append(row)
    return rows


# --- an expert's invitation (access_requests.signals.expert_invited) --------------------------------
def queue_expert_invitation(*, invitation: ExpertInvitation, token: str) -> OutboxMessage:
    """The email that gives an external expert the link to read one dossier, in the site's
    language (the expert has no account, hence no language of their own)."""
    request = invitation.request
    rendered = render("expert_invitation", {
        **request_context(request), "url": absolute_reverse("expert:open", token),
        "expires_at": invitation.expires_at, "invited_by": person_name(invitation.invited_by),
    }, language=settings.LANGUAGE_CODE)
    row, _created = queue(key=f"expert-invitation:{invitation.pk}", to=invitation.email,
                          language=settings.LANGUAGE_CODE, rendered=rendered)
    return row
