"""Every write with business meaning on access requests.

One shape for every transition: atomic block → lock the row → check the transition exists
from the current state → check the actor's role → check the conditions → transition → save →
append the event row → side effects on commit. Views, admin, commands, the import and tasks
call these functions and nothing else writes requests or events.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from access_requests import signals
from access_requests.exceptions import (
    ActionNotPermitted,
    ConcurrentUpdate,
    IllegalTransition,
    InvalidInput,
    RequestNotFound,
)
from access_requests.models import AccessRequest, CesreesOpinion, Event, ReferenceSequence
from access_requests.roles import user_roles
from access_requests.workflow import TRANSITIONS, Role, Route, State, condition_holds, roles_for
from accounts.models import Organisation
from catalog.models import Dataset

logger = logging.getLogger(__name__)

_ROLE_ORDER = [r.value for r in Role]


# --- helpers ---------------------------------------------------------------------------
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


def _load_for_update(request_id: int) -> AccessRequest:
    try:
        return AccessRequest.objects.select_for_update().get(pk=request_id)
    except (AccessRequest.DoesNotExist, ValueError, TypeError):
        raise RequestNotFound(_("Demande introuvable.")) from None


def _acting_role(request: AccessRequest, actor, allowed: Iterable[str]) -> str:
    """The role under which ``actor`` acts, or ActionNotPermitted. No actor: the system."""
    if actor is None:
        return Role.SYSTEM
    usable = user_roles(actor, request) & set(allowed)
    if usable and actor.is_superuser:
        return Role.ADMINISTRATOR  # recorded as what it is, whatever role it stands in for
    if not usable:
        raise ActionNotPermitted(_("Votre rôle ne permet pas cette action sur la demande %(reference)s.") % {"reference": request.reference})
    return min(usable, key=_ROLE_ORDER.index)


def _label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def _append_event(request: AccessRequest, *, from_state: str, to_state: str, action: str, actor, role: str,
                  comment: str = "", payload: dict | None = None, at: dt.datetime | None = None) -> Event:
    return Event.objects.create(
        request=request, from_state=from_state, to_state=to_state, action=action,
        at=at or timezone.now(), actor=actor, role=role, comment=comment, payload=payload or {},
    )


def _transition(*, request_id: int, actor, name: str, comment: str = "", payload: dict | None = None,
                args: tuple = (), kwargs: dict | None = None, expected_state: str | None = None,
                guard=None) -> AccessRequest:
    """Apply one transition. ``guard(request)`` may return a reason to refuse it, checked after the
    actor's role (so that someone without the role is told so first)."""
    spec = TRANSITIONS[name]
    with transaction.atomic():
        request = _load_for_update(request_id)
        source = request.state
        _check_expected(request, expected_state)
        requested = spec.target or request.paused_from or State.AWAITING_APPLICANT
        if source not in spec.sources:
            raise IllegalTransition(reference=request.reference, current=_label(source), requested=_label(requested))
        role = _acting_role(request, actor, roles_for(spec, source))
        if not condition_holds(source, requested, requires_matching=request.requires_matching,
                               route=request.route, paused_from=request.paused_from):
            raise IllegalTransition(reference=request.reference, current=_label(source),
                                    requested=_label(requested), reason=_condition_reason(source, requested))
        refusal = guard(request) if guard else ""
        if refusal:
            raise IllegalTransition(reference=request.reference, current=_label(source),
                                    requested=_label(requested), reason=refusal)
        getattr(request, name)(*args, **(kwargs or {}))
        if name == "resume":
            request.paused_from = ""
        try:
            request.save()
        except ConcurrentTransition:
            raise ConcurrentUpdate(_("La demande %(reference)s a été modifiée entre-temps ; rechargez-la.") % {"reference": request.reference}) from None
        event = _append_event(request, from_state=source, to_state=request.state, action=name, actor=actor,
                              role=role, comment=comment, payload=payload)
        signals.announce(request, event)
    return request


def _check_expected(request: AccessRequest, expected_state: str | None) -> None:
    """Refuse to act on a state the caller did not see (someone else acted in between)."""
    if expected_state is not None and request.state != expected_state:
        raise ConcurrentUpdate(
            _("La demande %(reference)s est passée de « %(seen)s » à « %(current)s » entre-temps ; "
              "rechargez-la avant d'agir.") % {
                "reference": request.reference, "seen": _label(expected_state), "current": _label(request.state)})


def _condition_reason(source: str, target: str) -> str:
    if source == State.SUBMITTED and target == State.CONTRACTING:
        return _("Seules les procédures MR et d'accès simplifié passent directement au conventionnement.")
    if source == State.CONTRACTING and target == State.MATCHING:
        return _("Cette demande ne nécessite pas d'appariement.")
    if source == State.CONTRACTING and target == State.EXTRACTION:
        return _("Cette demande nécessite un appariement avant l'extraction.")
    return ""


def _text(value: str, field: str, *, required: bool = True, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(_("Le champ « %(field)s » est obligatoire.") % {"field": field})
    if max_length and len(value) > max_length:
        raise InvalidInput(_("Le champ « %(field)s » dépasse %(n)d caractères.") % {"field": field, "n": max_length})
    return value


# --- drafts ------------------------------------------------------------------------------
def create_draft(*, actor, title: str, summary: str = "", datasets: Iterable[Dataset] = (),
                 route: str = Route.STANDARD, brings_own_data: bool = False,
                 organisation: Organisation | None = None) -> AccessRequest:
    """Open a new draft for ``actor``'s organisation."""
    if actor is None or not actor.is_authenticated:
        raise ActionNotPermitted(_("Connectez-vous pour créer une demande."))
    if route not in Route.values:
        raise InvalidInput(_("Procédure inconnue : %(route)s.") % {"route": route})
    title = _text(title, _("titre"), max_length=300)
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
        _append_event(request, from_state="", to_state=State.DRAFT, action="create", actor=actor, role=Role.APPLICANT)
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
        request = _load_for_update(request_id)
        if request.state != State.DRAFT:
            raise IllegalTransition(reference=request.reference, current=_label(request.state),
                                    requested=_label(State.DRAFT), reason=_("Seul un brouillon se modifie."))
        _acting_role(request, actor, {Role.APPLICANT})
        if title is not None:
            request.title = _text(title, _("titre"), max_length=300)
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


# --- the pathway -------------------------------------------------------------------------
def submit(*, request_id: int, actor, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    with transaction.atomic():
        request = _load_for_update(request_id)
        _check_expected(request, expected_state)
        if request.state == State.DRAFT:
            from access_requests.completeness import completeness_problems

            problems = completeness_problems(request)
            if problems:
                raise InvalidInput(_("Le dossier est incomplet : %(problems)s") % {"problems": " ".join(problems)},
                                   problems=problems)
        return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="submit", comment=comment)


def withdraw(*, request_id: int, actor, reason: str = "", expected_state: str | None = None) -> AccessRequest:
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="withdraw", comment=reason)


def request_information(*, request_id: int, actor, question: str, expected_state: str | None = None) -> AccessRequest:
    """Hand the dossier back to the applicant with a question: the clock stops."""
    question = _text(question, _("question"))
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="request_information", comment=question,
                       payload={"question": question})


def answer_information(*, request_id: int, actor, answer: str, expected_state: str | None = None) -> AccessRequest:
    """The applicant answers: the stage that asked resumes."""
    answer = _text(answer, _("réponse"))
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="resume", comment=answer, payload={"answer": answer})


def forward_to_cesrees(*, request_id: int, actor, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    """The secretariat declares the dossier complete and sends it to the CESREES."""
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="forward_to_cesrees", comment=comment)


def route_ineligibility(request: AccessRequest) -> str:
    """Why the request's datasets do not fit its route without committee review, or "".

    Simplified access is for the SNDS sample (ESND) alone; a reference methodology (MR-004
    forbids linking sources) cannot serve a project that needs matching. Such a request goes
    through the standard route (forward_to_cesrees) instead.
    """
    if request.route == Route.SIMPLIFIED:
        codes = set(request.datasets.values_list("code", flat=True))
        if codes != {"esnd"} or request.brings_own_data:
            return _("L'accès simplifié ne concerne que l'échantillon du SNDS (ESND), sans autre source : "
                     "transmettez la demande au CESREES.")
    if request.route == Route.REFERENCE_METHODOLOGY and request.requires_matching:
        return _("Une méthodologie de référence ne permet pas d'apparier plusieurs sources : "
                 "transmettez la demande au CESREES.")
    return ""


def approve_without_review(*, request_id: int, actor, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    """Reference methodology or simplified access: straight to contracting, when the datasets fit the route."""
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="approve_without_review",
                       comment=comment, guard=route_ineligibility)


def _cnil_refusal_needs_its_decision(request: AccessRequest) -> str:
    if request.state == State.CNIL_REVIEW:
        return _("Un refus de la CNIL s'enregistre avec sa décision (numéro et date) : "
                 "enregistrez la décision de la CNIL.")
    return ""


def reject(*, request_id: int, actor, reason: str, payload: dict | None = None, expected_state: str | None = None) -> AccessRequest:
    """The secretariat finds the dossier inadmissible (a CNIL refusal goes through record_cnil_decision)."""
    reason = _text(reason, _("motif"))
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="reject", comment=reason,
                       payload={"reason": reason, **(payload or {})}, guard=_cnil_refusal_needs_its_decision)


def record_cesrees_opinion(*, request_id: int, actor, opinion: str, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    if opinion not in CesreesOpinion.values:
        raise InvalidInput(_("Avis du CESREES inconnu : %(opinion)s.") % {"opinion": opinion})
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="record_cesrees_opinion", comment=comment,
                       payload={"opinion": opinion}, args=(opinion,))


def record_cnil_decision(*, request_id: int, actor, authorised: bool, decision_number: str,
                         decision_date: dt.date, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    """Record the CNIL's authorisation (to contracting) or refusal (rejected)."""
    decision_number = _text(decision_number, _("numéro de décision"), max_length=64)
    if not isinstance(decision_date, dt.date):
        raise InvalidInput(_("La date de décision est obligatoire."))
    payload = {"authorised": authorised, "decision_number": decision_number, "decision_date": decision_date.isoformat()}
    if authorised:
        return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="authorise", comment=comment,
                           payload=payload, args=(decision_number, decision_date))
    with transaction.atomic():
        request = _load_for_update(request_id)
        _check_expected(request, expected_state)
        if request.state != State.CNIL_REVIEW:
            raise IllegalTransition(reference=request.reference, current=_label(request.state),
                                    requested=_label(State.REJECTED),
                                    reason=_("Une décision de la CNIL ne s'enregistre qu'à l'étape CNIL."))
        return _transition(request_id=request_id, actor=actor, name="reject", comment=comment or _("Refus de la CNIL"),
                       payload=payload)


def record_contract_signed(*, request_id: int, actor, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    """The contract is signed: matching when several sources are linked, else extraction."""
    with transaction.atomic():
        request = _load_for_update(request_id)
        _check_expected(request, expected_state)
        name = "start_matching" if request.requires_matching else "start_extraction"
        return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name=name, comment=comment)


def record_matching_done(*, request_id: int, actor, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    with transaction.atomic():
        request = _load_for_update(request_id)
        _check_expected(request, expected_state)
        if request.state != State.MATCHING:
            raise IllegalTransition(reference=request.reference, current=_label(request.state),
                                    requested=_label(State.EXTRACTION))
        return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="start_extraction", comment=comment)


def deliver(*, request_id: int, actor, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="deliver", comment=comment)


def close(*, request_id: int, actor, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    return _transition(request_id=request_id, actor=actor, expected_state=expected_state, name="close", comment=comment)


def extend_review(*, request_id: int, actor, comment: str = "", expected_state: str | None = None) -> AccessRequest:
    """Extend the CESREES period by one month, or renew the CNIL period, once each.

    No change of state; the event row records it (from and to the same state).
    """
    with transaction.atomic():
        request = _load_for_update(request_id)
        _check_expected(request, expected_state)
        if request.state == State.CESREES_REVIEW:
            field, role = "cesrees_extended", Role.CESREES
        elif request.state == State.CNIL_REVIEW:
            field, role = "cnil_extended", Role.CNIL
        else:
            raise IllegalTransition(reference=request.reference, current=_label(request.state),
                                    requested=_label(request.state),
                                    reason=_("Seuls les délais du CESREES et de la CNIL se prolongent."))
        acting = _acting_role(request, actor, {role})
        if getattr(request, field):
            raise InvalidInput(_("Le délai de cette étape a déjà été prolongé une fois."))
        setattr(request, field, True)
        request.save(update_fields=[field, "updated_at"])
        event = _append_event(request, from_state=request.state, to_state=request.state, action="extend_review",
                              actor=actor, role=acting, comment=comment)
        signals.announce(request, event)
    return request



def attach_to_organisation(*, request_ids: Iterable[int], organisation: Organisation, applicant=None) -> int:
    """Give imported requests (which have none) an applicant organisation and project leader.

    Only requests without an organisation are touched, so a request is never moved from one
    organisation to another. No change of state, so no event. Returns how many were attached.
    """
    with transaction.atomic():
        return AccessRequest.objects.filter(pk__in=list(request_ids), organisation__isnull=True).update(
            organisation=organisation, applicant=applicant)


# --- dossier content: attachments, notes, assignment ------------------------------------------
EDITABLE_STATES = frozenset({State.DRAFT, State.AWAITING_APPLICANT})


def add_attachment(*, request_id: int, actor, uploaded, kind: str):
    """Check and store a document of the dossier (while the applicant holds it)."""
    from django.core.files.base import ContentFile

    from access_requests.attachments import check_upload
    from access_requests.models import Attachment, AttachmentKind

    if kind not in AttachmentKind.values:
        raise InvalidInput(_("Type de pièce inconnu."))
    checked = check_upload(uploaded)  # before any write: nothing is stored on a refusal
    with transaction.atomic():
        request = _load_for_update(request_id)
        _acting_role(request, actor, {Role.APPLICANT})
        if request.state not in EDITABLE_STATES:
            raise IllegalTransition(reference=request.reference, current=_label(request.state),
                                    requested=_label(request.state),
                                    reason=_("Les pièces se déposent sur un brouillon ou en réponse à une demande de compléments."))
        attachment = Attachment(request=request, kind=kind, original_name=checked.name, content_type=checked.content_type,
                                size=len(checked.content), sha256=checked.sha256, uploaded_by=actor)
        attachment.file.save(checked.name, ContentFile(checked.content), save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)
            raise
    return attachment


def remove_attachment(*, attachment_id: int, actor) -> None:
    from access_requests.models import Attachment

    with transaction.atomic():
        try:
            attachment = Attachment.objects.select_related("request").get(pk=attachment_id)
        except Attachment.DoesNotExist:
            raise RequestNotFound(_("Pièce introuvable.")) from None
        request = _load_for_update(attachment.request_id)
        _acting_role(request, actor, {Role.APPLICANT})
        if request.state != State.DRAFT:
            raise IllegalTransition(reference=request.reference, current=_label(request.state),
                                    requested=_label(request.state), reason=_("Une pièce déposée ne se retire que d'un brouillon."))
        name = attachment.file.name
        storage = attachment.file.storage
        attachment.delete()
        transaction.on_commit(lambda: storage.delete(name))


REVIEWER_ROLES = frozenset({Role.SECRETARIAT, Role.CESREES, Role.CNIL, Role.DATA_HOLDER, Role.PLATFORM})


def add_internal_note(*, request_id: int, actor, body: str):
    from access_requests.models import InternalNote

    body = _text(body, _("note"), max_length=5000)
    with transaction.atomic():
        request = _load_for_update(request_id)
        _acting_role(request, actor, REVIEWER_ROLES)
        return InternalNote.objects.create(request=request, author=actor, body=body)


def assign(*, request_id: int, actor, assignee) -> AccessRequest:
    """Assign the request to a reviewer (or to nobody with ``assignee=None``)."""
    with transaction.atomic():
        request = _load_for_update(request_id)
        _acting_role(request, actor, REVIEWER_ROLES)
        if assignee is not None and not (user_roles(assignee, request) & REVIEWER_ROLES):
            raise InvalidInput(_("Cette personne ne peut pas instruire cette demande."))
        request.assignee = assignee
        request.save(update_fields=["assignee", "updated_at"])
    return request
