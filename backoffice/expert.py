"""An external expert's read-only view of one dossier (/expert/...), without an account.

The link of the invitation email (``/expert/<token>/``) is opened once: its token is checked
(its SHA-256 against the stored one), the invitation is remembered in the session, and the
browser is sent on to ``/expert/dossiers/<invitation id>/``, so the token does not stay in the
address bar, the history or a Referer. Every page and download then checks again, at each
request, that this session was given the invitation and that it still holds: a reviewer's
revocation or the expiry ends the access at once. An unknown link is a 404; an expired or
revoked one a 410 page that says so and when (never a 500).

The expert reads what the applicant's team reads of the thread (never an internal note) and the
dossier's sections and documents; nothing is written but ``last_seen_at``.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from access_requests import selectors as request_selectors
from access_requests import services
from access_requests.models import ExpertInvitation
from accounts.people import PERSON_RELATIONS, display_name
from catalog.selectors import dataset_list
from documents import responses as documents

SESSION_KEY = "expert_invitations"


def _ended(request, invitation: ExpertInvitation):
    """The 410 page of an invitation that no longer holds: revoked, or expired, and since when."""
    return render(request, "expert/ended.html", {"invitation": invitation, "now": timezone.now()}, status=410)


def _granted(request, invitation_id: int) -> ExpertInvitation:
    """The invitation this session was given, or 404."""
    if invitation_id not in request.session.get(SESSION_KEY, []):
        raise Http404(_("Lien introuvable."))
    invitation = ExpertInvitation.objects.select_related("request", "request__organisation").filter(
        pk=invitation_id).first()
    if invitation is None:
        raise Http404(_("Lien introuvable."))
    return invitation


@never_cache
@require_GET
def open_link(request, token: str):
    invitation = request_selectors.expert_invitation_for_token(token)
    if invitation is None:
        raise Http404(_("Lien introuvable."))
    if not invitation.is_active():
        return _ended(request, invitation)
    granted = [pk for pk in request.session.get(SESSION_KEY, []) if pk != invitation.pk]
    request.session[SESSION_KEY] = [*granted[-19:], invitation.pk]
    response = redirect("expert:dossier", invitation.pk)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_GET
def dossier(request, invitation_id: int):
    invitation = _granted(request, invitation_id)
    if not services.record_expert_visit(invitation_id=invitation.pk):
        invitation.refresh_from_db()
        return _ended(request, invitation)
    ar = invitation.request
    thread = request_selectors.thread(ar, for_applicant=True, person_relations=PERSON_RELATIONS)
    rows = [{"message": m, "author": display_name(m.author) if m.from_applicant else m.get_role_display(),
             "attachments": list(m.attachments.all())} for m in thread]
    return render(request, "expert/dossier.html", {
        "invitation": invitation, "ar": ar, "thread": rows,
        "datasets": dataset_list().filter(access_requests=ar),
        "documents": list(request_selectors.dossier_attachments(ar)),
    })


@never_cache
@require_GET
def download(request, invitation_id: int, attachment_id: int):
    invitation = _granted(request, invitation_id)
    if not invitation.is_active():
        return _ended(request, invitation)
    item = (request_selectors.attachments_for_applicant()
            .filter(pk=attachment_id, request_id=invitation.request_id).first())
    if item is None:
        raise Http404(_("Pièce introuvable."))
    return documents.attachment(item)  # quarantined or infected: a 409 page saying why
