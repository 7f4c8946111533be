"""Writes on a dossier's content: drafts, attachments, assignment (messages: ``messages.py``).

Same shape as the pathway: atomic block, one ``select_for_update``, the actor's role, then the
write; assignment writes an event row (``assign``, from and to the same state).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests import signals
from access_requests.attachments import CheckedUpload, check_upload
from access_requests.exceptions import ActionNotPermitted, IllegalTransition, InvalidInput, RequestNotFound
from access_requests.models import (
    AccessRequest,
    Attachment,
    AttachmentKind,
    ReferenceSequence,
    ScanStatus,
)
from access_requests.roles import user_roles
from access_requests.services.core import acting_role, append_event, label, load_for_update, text
from access_requests.services.scanning import initial_scan_status, scan_after_commit
from access_requests.workflow import REVIEWER_ROLES, EventAction, Role, Route, State
from catalog.models import Dataset


def derive_requires_matching(*, dataset_count: int, brings_own_data: bool) -> bool:
    """Matching is needed to link two or more sources, or the applicant's own data."""
    return brings_own_data or dataset_count >= 2


def next_reference(year: int) -> str:
    """Give the next free reference HDH-YYYY-NNNN of ``year`` (skips imported ones)."""
    with transaction.atomic():
        ReferenceSequence.objects.get_or_create(year=year)
        for _attempt in range(1000):
            ReferenceSequence.objects.filter(year=year).update(last=F("last") + 1)
            last = ReferenceSequence.objects.select_for_update().get(year=year).last
            reference = f"HDH-{year}-{last:04d}"
            if not AccessRequest.objects.filter(reference=reference).exists():
                return reference
    raise RuntimeError("no free reference found")  # pragma: no cover - 1000 imported in a row


# --- drafts ------------------------------------------------------------------------------
def create_draft(*, actor, title: str, summary: str = "", datasets: Iterable[Dataset] = (),
                 route: str = Route.STANDARD, brings_own_data: bool = False,
                 organisation: Any = None) -> AccessRequest:
    """Open a new draft for ``actor``'s organisation."""
    if actor is None or not actor.is_authenticated:
        raise ActionNotPermitted(_("Connectez-vous pour créer une demande."))
    if route not in Route.values:
        raise InvalidInput(_("Procédure inconnue : %(route)s.") % {"route": route})
    title = text(title, _("titre"), max_length=300)
    datasets = list(datasets)
    if organisation is None:
        profile = getattr(actor, "profile", None)
        organisation = profile.organisation if profile else None
    with transaction.atomic():
        request = AccessRequest(
            reference=next_reference(timezone.localdate().year), title=title, summary=summary or "",
            organisation=organisation, applicant=actor, route=route, brings_own_data=brings_own_data,
            requires_matching=derive_requires_matching(dataset_count=len({d.pk for d in datasets}),
                                                       brings_own_data=brings_own_data),
        )
        request.save()
        request.datasets.set(datasets)
        append_event(request, from_state="", to_state=State.DRAFT, action="create", actor=actor, role=Role.APPLICANT)
        signals.announce_after_commit(AccessRequest, request.pk)
    return request


DRAFT_TEXT_FIELDS = ("summary", "public_interest", "methodology", "team_members")


def update_draft(*, request_id: int, actor, title: str | None = None, datasets: Iterable[Dataset] | None = None,
                 route: str | None = None, brings_own_data: bool | None = None,
                 expected_start: dt.date | None = None, **texts: str) -> AccessRequest:
    """Edit a draft's content (no state change, so no event). ``texts``: DRAFT_TEXT_FIELDS."""
    unknown = set(texts) - set(DRAFT_TEXT_FIELDS)
    if unknown:
        raise TypeError(f"unknown draft fields: {sorted(unknown)}")
    with transaction.atomic():
        request = load_for_update(request_id)
        if request.state != State.DRAFT:
            raise IllegalTransition(reference=request.reference, current=label(request.state),
                                    requested=label(State.DRAFT), reason=_("Seul un brouillon se modifie."))
        acting_role(request, actor, {Role.APPLICANT})
        if title is not None:
            request.title = text(title, _("titre"), max_length=300)
        for name, value in texts.items():
            if value is not None:
                setattr(request, name, value.strip())
        if expected_start is not None:
            request.expected_start = expected_start
        if route is not None:
            if route not in Route.values:
                raise InvalidInput(_("Procédure inconnue : %(route)s.") % {"route": route})
            request.route = route
        if brings_own_data is not None:
            request.brings_own_data = brings_own_data
        if datasets is not None:
            request.datasets.set(list(datasets))
        request.requires_matching = derive_requires_matching(
            dataset_count=request.datasets.count(), brings_own_data=request.brings_own_data)
        request.save()
    return request


def attach_to_organisation(*, request_ids: Iterable[int], organisation: Any, applicant=None) -> int:
    """Give imported requests (which have none) an applicant organisation and project leader.

    Only requests without an organisation are touched, so a request is never moved from one
    organisation to another. No change of state, so no event. Returns how many were attached.
    """
    with transaction.atomic():
        return AccessRequest.objects.filter(pk__in=list(request_ids), organisation__isnull=True).update(
            organisation=organisation, applicant=applicant)


# --- dossier content: attachments, assignment --------------------------------------------------
EDITABLE_STATES = frozenset({State.DRAFT, State.AWAITING_APPLICANT})


def add_attachment(*, request_id: int, actor, uploaded, kind: str):
    """Check and store a document of the dossier (while the applicant holds it).

    With an antivirus configured it is stored in quarantine and scanned after the commit.
    """
    if kind not in AttachmentKind.values:
        raise InvalidInput(_("Type de pièce inconnu."))
    checked = check_upload(uploaded)  # before any write: nothing is stored on a refusal
    with transaction.atomic():
        request = load_for_update(request_id)
        acting_role(request, actor, {Role.APPLICANT})
        if request.state not in EDITABLE_STATES:
            raise IllegalTransition(reference=request.reference, current=label(request.state),
                                    requested=label(request.state),
                                    reason=_("Les pièces se déposent sur un brouillon ou en réponse à une demande de compléments."))
        attachment = store_attachment(request, checked, actor=actor, kind=kind)
    return attachment


def store_attachment(request: AccessRequest, checked: CheckedUpload, *, actor, kind: str,
                     message: Any = None) -> Attachment:
    """Store a checked upload (``check_upload``) of ``request``, inside the caller's transaction.

    With an antivirus configured it is stored in quarantine and scanned after the commit; the file
    is deleted if its row cannot be saved.
    """
    attachment = Attachment(request=request, message=message, kind=kind, original_name=checked.name,
                            content_type=checked.content_type, size=len(checked.content), sha256=checked.sha256,
                            uploaded_by=actor, scan_status=initial_scan_status())
    attachment.file.save(checked.name, ContentFile(checked.content), save=False)
    try:
        attachment.save()
    except Exception:
        attachment.file.delete(save=False)
        raise
    if attachment.scan_status == ScanStatus.PENDING:
        scan_after_commit(attachment.pk)
    return attachment


def remove_attachment(*, attachment_id: int, actor) -> None:
    with transaction.atomic():
        try:
            attachment = Attachment.objects.select_related("request").get(pk=attachment_id)
        except Attachment.DoesNotExist:
            raise RequestNotFound(_("Pièce introuvable.")) from None
        request = load_for_update(attachment.request_id)
        acting_role(request, actor, {Role.APPLICANT})
        if request.state != State.DRAFT:
            raise IllegalTransition(reference=request.reference, current=label(request.state),
                                    requested=label(request.state), reason=_("Une pièce déposée ne se retire que d'un brouillon."))
        name = attachment.file.name
        storage = attachment.file.storage
        attachment.delete()
        transaction.on_commit(lambda: storage.delete(name))


def assign(*, request_id: int, actor, assignee) -> AccessRequest:
    """Assign the request to a reviewer (or to nobody with ``assignee=None``)."""
    with transaction.atomic():
        request = load_for_update(request_id)
        role = acting_role(request, actor, REVIEWER_ROLES)
        if assignee is not None and not (user_roles(assignee, request) & REVIEWER_ROLES):
            raise InvalidInput(_("Cette personne ne peut pas instruire cette demande."))
        previous = request.assignee_id
        request.assignee = assignee
        request.save(update_fields=["assignee", "updated_at"])
        if previous != request.assignee_id:
            event = append_event(request, from_state=request.state, to_state=request.state, action=EventAction.ASSIGN,
                                 actor=actor, role=role,
                                 payload={"assignee": request.assignee_id, "previous": previous})
            signals.announce(request, event)
    return request
