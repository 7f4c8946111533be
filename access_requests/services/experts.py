"""External experts: a reviewer invites someone outside the platform, by email, to read one
dossier for a limited time.

The invitation's link carries a random token (``secrets.token_urlsafe``) that is never stored:
the database keeps its SHA-256 only, and the token exists once, in the email
(``signals.expert_invited``, received by the notifications, which write it in the outbox in the
same transaction). The access ends at ``expires_at`` (now + HDH_EXPERT_ACCESS_DAYS) or when a
reviewer revokes it. Both the invitation and the revocation are events of the request's log
(``EventAction.INVITE_EXPERT``, ``REVOKE_EXPERT``, from and to the current state, like an
assignment: the clocks ignore them), the audit trail of who opened the dossier to whom.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests import signals
from access_requests.exceptions import InvalidInput, NotNow, RequestNotFound
from access_requests.models import ExpertInvitation
from access_requests.services.core import acting_role, append_event, load_for_update
from access_requests.workflow import REVIEWER_ROLES, EventAction, State, expert_roles


@dataclass(frozen=True)
class Invited:
    """An invitation and the token of its link (known only here and in the email)."""

    invitation: ExpertInvitation
    token: str


def invite_expert(*, request_id: int, actor, email: str, acting_as: Iterable[str] | None = None) -> Invited:
    """Invite ``email`` to read the request's dossier for HDH_EXPERT_ACCESS_DAYS days: an
    invitation row, an ``invite_expert`` event, and the email with the link (in this transaction)."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(_("Saisissez une adresse électronique valide.")) from None
    with transaction.atomic():
        request = load_for_update(request_id)
        role = acting_role(request, actor, expert_roles(request.state), acting_as)
        if request.state == State.DRAFT:
            raise NotNow(_("Un brouillon ne se montre pas à un expert."))
        token = secrets.token_urlsafe(32)
        now = timezone.now()
        invitation = ExpertInvitation.objects.create(
            request=request, email=email, token_hash=ExpertInvitation.hash_token(token), invited_by=actor, created_at=now,
            expires_at=now + dt.timedelta(days=settings.HDH_EXPERT_ACCESS_DAYS))
        event = append_event(request, from_state=request.state, to_state=request.state,
                             action=EventAction.INVITE_EXPERT, actor=actor, role=role, at=now,
                             payload={"invitation": invitation.pk, "email": email,
                                      "expires_at": invitation.expires_at.isoformat()})
        signals.expert_invited.send(sender=ExpertInvitation, invitation=invitation, token=token)
        signals.announce(request, event)
    return Invited(invitation=invitation, token=token)


def revoke_expert_invitation(*, invitation_id: int, actor, acting_as: Iterable[str] | None = None
                             ) -> ExpertInvitation:
    """End an expert's access now, with a ``revoke_expert`` event. Revoking it again changes nothing."""
    with transaction.atomic():
        invitation = ExpertInvitation.objects.filter(pk=invitation_id).first()
        if invitation is None:
            raise RequestNotFound(_("Invitation introuvable."))
        request = load_for_update(invitation.request_id)
        allowed = REVIEWER_ROLES if invitation.invited_by_id == actor.pk else expert_roles(request.state)
        role = acting_role(request, actor, allowed, acting_as)
        invitation = ExpertInvitation.objects.select_for_update().get(pk=invitation_id)
        if invitation.revoked_at is not None:
            return invitation
        now = timezone.now()
        invitation.revoked_at, invitation.revoked_by = now, actor
        invitation.save(update_fields=["revoked_at", "revoked_by"])
        event = append_event(request, from_state=request.state, to_state=request.state,
                             action=EventAction.REVOKE_EXPERT, actor=actor, role=role, at=now,
                             payload={"invitation": invitation.pk, "email": invitation.email})
        signals.announce(request, event)
    return invitation


def record_expert_visit(*, invitation_id: int, now: dt.datetime | None = None) -> bool:
    """The expert opened the dossier: ``last_seen_at``, only while the invitation holds (a
    conditional update). Returns whether it still holds."""
    now = now or timezone.now()
    return bool(ExpertInvitation.objects.filter(pk=invitation_id, revoked_at__isnull=True, expires_at__gt=now)
                .update(last_seen_at=now))
