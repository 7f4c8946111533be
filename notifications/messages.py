"""What to send to whom: the emails a change of a request causes, in each recipient's language.

``on_transition`` is called inside the transaction of every change of a request (and of every
assignment or extension), right after its event row (the services send
``access_requests.signals.request_changed``; see notifications/receivers.py); it renders the emails that change causes (templates
``notifications/templates/emails/<name>/{subject.txt,body.txt,body.html}``) and writes them as
outbox rows. Nothing is sent inside a transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from access_requests.models import AccessRequest, CesreesOpinion, Event, HolderTask
from access_requests.selectors import followers_of
from access_requests.workflow import (
    STAGE_ROLES,
    TRANSITIONS,
    EventAction,
    HolderTaskState,
    Role,
    Route,
    State,
    roles_for,
)
from accounts.people import display_name
from delays.clock import request_clock
from documents import builders as documents
from hdh_access.lib.urls import absolute_reverse, site_url
from notifications.models import OutboxMessage
from notifications.outbox import Rendered, queue, queue_many

logger = logging.getLogger(__name__)


# --- rendering ---------------------------------------------------------------------------

def language_of(user) -> str:
    """The recipient's language (Profile.language), else the site's default."""
    codes = {code for code, _name in settings.LANGUAGES}
    profile = getattr(user, "profile", None) if user is not None else None
    try:
        language = profile.language if profile is not None else ""
    except Exception:  # pragma: no cover - a user without a profile row
        language = ""
    return language if language in codes else settings.LANGUAGE_CODE


def render(name: str, context: dict, *, language: str) -> Rendered:
    """Render ``templates/emails/<name>/`` in ``language``: subject (one line), text, HTML."""
    with translation.override(language):
        context = {"site_url": site_url(), "language": language, **context}
        subject = " ".join(render_to_string(f"emails/{name}/subject.txt", context).split())
        context["subject"] = subject
        text = render_to_string(f"emails/{name}/body.txt", context)
        html = render_to_string(f"emails/{name}/body.html", context)
    return Rendered(subject=subject[:255], text=tidy_text(text), html=html.strip())


def tidy_text(text: str) -> str:
    """Template tags leave blank lines: keep at most one empty line in a row."""
    lines, blank = [], 0
    for line in text.strip().splitlines():
        line = line.rstrip()
        blank = blank + 1 if not line else 0
        if blank <= 1:
            lines.append(line)
    return "\n".join(lines) + "\n"


def queue_for(users: Iterable, *, key_prefix: str, name: str, context: dict) -> list[OutboxMessage]:
    """One row per user with an address, rendered in the user's language, all written at once (``queue_many``)."""
    by_language: dict[str, Rendered] = {}
    messages = []
    for user in users:
        if not user.email:
            continue
        language = language_of(user)
        if language not in by_language:
            by_language[language] = render(name, context, language=language)
        messages.append({"key": f"{key_prefix}:{user.pk}", "to": user.email, "language": language,
                         "rendered": by_language[language]})
    return queue_many(messages)


# --- who ---------------------------------------------------------------------------------
def role_members(role: str, request: AccessRequest):
    """Active users holding ``role`` through its group; a data holder's staff only for the
    holders of the request's datasets whose task (if the request has reached it) is not delivered. Superusers stand in for every role but are not
    written to for each: they are members of a group when they want its mail."""
    users = get_user_model().objects.filter(is_active=True, groups__name=str(role)).exclude(email="")
    if role == Role.DATA_HOLDER:
        holders = request.datasets.values_list("holder_id", flat=True)
        # After the decision, a holder whose task is delivered has nothing more to do on the request.
        delivered = HolderTask.objects.filter(request=request, state=HolderTaskState.DELIVERED).values("holder_id")
        users = users.filter(profile__data_holder_id__in=holders).exclude(profile__data_holder_id__in=delivered)
    return users.select_related("profile").distinct().order_by("pk")


def queue_roles(state: str) -> frozenset[str]:
    """The roles whose work queue a request in ``state`` is in."""
    if state in STAGE_ROLES:
        return STAGE_ROLES[state]
    if state == State.DELIVERED:
        return roles_for(TRANSITIONS["close"], State.DELIVERED)
    return frozenset()


def queue_members(request: AccessRequest, state: str, *, exclude_pk: int | None) -> list:
    seen, members = set(), []
    roles = sorted(queue_roles(state))
    for role in roles:
        for user in role_members(role, request):
            if user.pk not in seen:
                seen.add(user.pk)
                members.append(user)
    if roles and not members:
        logger.warning("notifications: nobody with an email address holds %s for %s: no one is told it is in "
                       "their queue", "/".join(roles), request.reference)
    return [user for user in members if user.pk != exclude_pk]


# --- the statutory clock of the stage a request is in -------------------------------------
def current_clock(request: AccessRequest, *, now: dt.datetime) -> dict | None:
    """Due date and tacit decision of the request's open stage visit at ``now`` (from its
    events: read inside the transition's transaction, before the delay row is recomputed)."""
    clock = request_clock(request, now, medians={True: {}, False: {}}, fresh=True)
    if clock is None:
        return None
    visit = clock.current_visit
    if visit is None or visit.due_date is None:
        return None
    return {
        "stage": visit.stage,
        "due_date": visit.due_date,
        "tacit_decision": visit.tacit_decision,
        "tacit_effect_date": visit.tacit_effect_date,
        "target_date": clock.deadline,
    }


# --- what each change says -----------------------------------------------------------------
# action -> (subject phrase, paragraph) for the applicant; %(...)s filled from the event.
APPLICANT_MESSAGES = {
    "submit": (_("demande déposée"),
               _("Votre demande a bien été déposée. Le secrétariat du Health Data Hub vérifie qu'elle est "
                 "complète ; il dispose pour cela de 7 jours ouvrés.")),
    "forward_to_cesrees": (_("dossier complet, transmis au CESREES"),
                           _("Votre dossier est complet : le secrétariat l'a transmis au CESREES, qui rend un avis "
                             "scientifique et éthique.")),
    "approve_without_review": (_("validée, passage au conventionnement"),
                               _("Votre demande relève d'une procédure sans examen par le CESREES ni autorisation de "
                                 "la CNIL : elle passe directement au conventionnement avec les détenteurs de données.")),
    "record_cesrees_opinion": (_("avis du CESREES rendu, transmission à la CNIL"),
                               _("Le CESREES a rendu son avis : %(opinion)s. Votre dossier est maintenant examiné par "
                                 "la CNIL.")),
    "authorise": (_("autorisation de la CNIL"),
                  _("La CNIL a autorisé le traitement (décision n° %(decision_number)s du %(decision_date)s). "
                    "Vient maintenant le conventionnement avec les détenteurs de données.")),
    "start_matching": (_("convention signée, appariement en cours"),
                       _("La convention est signée. Les détenteurs de données apparient maintenant les sources "
                         "demandées.")),
    "start_extraction": (_("extraction des données en cours"),
                         _("Les détenteurs de données extraient maintenant les données de votre projet.")),
    "deliver": (_("données mises à disposition"),
                _("Les données de votre projet sont à votre disposition dans votre espace projet de la "
                  "plateforme.")),
    "close": (_("demande clôturée"), _("Votre demande est clôturée.")),
    "withdraw": (_("demande retirée"), _("Votre demande a été retirée ; son instruction s'arrête.")),
    "reject": (_("demande refusée"), _("Votre demande a été refusée.")),
    "resume": (_("réponse transmise, l'instruction reprend"),
               _("Votre réponse a bien été transmise : l'instruction reprend à l'étape « %(stage)s ».")),
}


def _route_label(value: str):
    return Route(value).label if value in Route.values else value


def _opinion_label(value: str) -> str:
    return str(CesreesOpinion(value).label) if value in CesreesOpinion.values else value


def _state_label(value: str) -> str:
    return str(State(value).label) if value in State.values else value


def lazy_label(value: str):
    """The state's label, translated when the template renders (in the recipient's language)."""
    return State(value).label if value in State.values else value


def _applicant_paragraph(action: str, request: AccessRequest, event: Event) -> tuple[str, str]:
    subject, paragraph = APPLICANT_MESSAGES[action]
    payload = event.payload or {}
    decision_date = payload.get("decision_date")
    values = {
        "opinion": _opinion_label(payload.get("opinion") or request.cesrees_opinion).lower(),
        "decision_number": payload.get("decision_number") or request.cnil_decision_number,
        "decision_date": _format_date(dt.date.fromisoformat(decision_date)) if decision_date else "",
        "stage": _state_label(event.to_state),
    }
    return str(subject), str(paragraph) % values


def _format_date(value: dt.date) -> str:
    return date_format(value, "DATE_FORMAT")


def request_context(request: AccessRequest) -> dict:
    return {
        "reference": request.reference,
        "title": request.title,
        "organisation": request.organisation.name if request.organisation else "",
        "portal_url": absolute_reverse("portal:detail", request.reference),
        "backoffice_url": absolute_reverse("backoffice:detail", request.reference),
    }


def on_transition(*, request: AccessRequest, event: Event) -> list[OutboxMessage]:
    """Queue the emails a change of ``request`` causes (inside the services' transaction).

    - the applicant hears of every change of state, of every information request, and of a
      review period extended (its due date moves);
    - the members of the roles whose queue the request enters are told, but not the person
      who moved it there;
    - the request's followers hear of every event (changes of state, assignment, extension),
      except the events they made themselves, once each: not when another email of this event
      already reaches them.
    """
    clock = current_clock(request, now=event.at)
    base = {**request_context(request), "state": event.to_state, "state_label": lazy_label(event.to_state),
            # An information request's question and the applicant's answer are messages of the thread:
            # no email quotes them (each links to the dossier; docs/architecture.md, "Messages").
            "clock": clock, "comment": "" if event.action in THREAD_ACTIONS else event.comment, "at": event.at}
    rows: list[OutboxMessage] = []
    applicant = request.applicant if request.applicant_id else None
    applicants = [applicant] if applicant is not None and applicant.is_active else []
    prefix = f"event:{event.pk}"
    told: list = []  # everyone another email of this event reaches

    if event.action == "extend_review":
        rows += queue_for(applicants, key_prefix=f"{prefix}:applicant", name="review_extended",
                           context={**base, "stage": event.to_state})
        told += applicants
    elif event.from_state != event.to_state:
        rows += _queue_for_change(request, event, base=base, applicants=applicants, told=told)
    rows += queue_for_followers(request, event, base=base, told=told)
    return rows


# Events whose text is a message of the thread (the question, the answer): never quoted in an email.
THREAD_ACTIONS = frozenset({"request_information", "resume"})


def _queue_for_change(request: AccessRequest, event: Event, *, base: dict, applicants: list,
                      told: list) -> list[OutboxMessage]:
    """A change of state: the applicant's email and the email of the queue it enters."""
    rows: list[OutboxMessage] = []
    prefix = f"event:{event.pk}"
    if event.action == "request_information":
        rows += queue_for(applicants, key_prefix=f"{prefix}:applicant", name="information_requested",
                           context={**base, "paused_from_label": lazy_label(event.from_state)})
        told += applicants
    elif event.action in APPLICANT_MESSAGES:
        rows += _queue_for_applicant_status(applicants, key_prefix=f"{prefix}:applicant", request=request,
                                            event=event, context=base)
        told += applicants
    members = queue_members(request, event.to_state, exclude_pk=event.actor_id)
    if members:
        rows += queue_for(members, key_prefix=f"{prefix}:queue", name="queue_entered",
                           context={**base, "action_label": TRANSITIONS[event.action].label
                                    if event.action in TRANSITIONS else event.action,
                                    "route": _route_label(request.route),
                                    "datasets": ", ".join(sorted(d.name for d in request.datasets.all()))})
        told += members
    return rows


def queue_for_followers(request: AccessRequest, event: Event, *, base: dict, told: Iterable) -> list[OutboxMessage]:
    """One email per follower of ``request`` about ``event`` (template ``followed_event``), in their
    language: not to the event's actor, nor to a follower who lost access to the request
    (``followers_of``), nor to anyone ``told`` (another email of this event reaches them: same
    account or same address)."""
    told_pks = {user.pk for user in told if user.email}
    told_addresses = {user.email.lower() for user in told if user.email}
    followers = []
    for user in followers_of(request):
        address = (user.email or "").lower()
        if user.pk == event.actor_id or user.pk in told_pks or not address or address in told_addresses:
            continue
        told_addresses.add(address)
        followers.append(user)
    if not followers:
        return []
    assignee = ""
    if event.action == EventAction.ASSIGN:
        assignee = display_name(request.assignee) if request.assignee_id else ""
    context = {
        **base, "event_label": EventAction(event.action).label if event.action in EventAction.values else event.action,
        "actor": display_name(event.actor) if event.actor_id else "", "moved": event.from_state != event.to_state,
        "from_label": lazy_label(event.from_state), "assigned": event.action == EventAction.ASSIGN,
        "assignee": assignee,
        "extended": event.action == EventAction.EXTEND_REVIEW,
    }
    return queue_for(followers, key_prefix=f"event:{event.pk}:follower", name="followed_event", context=context)


def _queue_for_applicant_status(users, *, key_prefix: str, request: AccessRequest, event: Event,
                                context: dict) -> list[OutboxMessage]:
    created = []
    # The submission's email carries the receipt (documents.builders), drawn when the email is sent:
    # 0.1-0.2 s of CPU that the applicant's click and the transition's transaction do not wait for.
    receipt = event.action == "submit"
    for user in users:
        if not user.email:
            continue
        language = language_of(user)
        with translation.override(language):
            headline, paragraph = _applicant_paragraph(event.action, request, event)
        attachment = receipt_attachment(request, language=language) if receipt else None
        rendered = render("applicant_status", {**context, "headline": headline, "paragraph": paragraph,
                                               "terminal": event.to_state in (State.REJECTED, State.WITHDRAWN,
                                                                             State.CLOSED),
                                               "receipt_attached": receipt},
                          language=language)
        row, was_created = queue(key=f"{key_prefix}:{user.pk}", to=user.email, language=language, rendered=rendered,
                                 attachment_later=attachment)
        if was_created:
            created.append(row)
    return created




RECEIPT_SOURCE = "receipt"


def receipt_attachment(request: AccessRequest, *, language: str) -> tuple[str, str, str]:
    """The receipt PDF in ``language``, as the outbox row's attachment to draw when it is sent."""
    return documents.receipt_filename(request, language=language), documents.PDF, f"{RECEIPT_SOURCE}:{request.pk}"


def draw_attachment(source: str, *, language: str) -> bytes:
    """The bytes of an attachment queued to be drawn when its email is sent (``outbox.queue``'s
    ``attachment_later``). The receipt is the one the portal gives: the submission as it stood,
    replayed from the events (documents.builders.receipt_pdf)."""
    kind, _sep, pk = source.partition(":")
    if kind == RECEIPT_SOURCE:
        pdf = documents.receipt_pdf(AccessRequest.objects.get(pk=int(pk)), language=language)
        if pdf is not None:
            return pdf
    raise ValueError(f"no attachment can be drawn from {source!r}")


# --- account emails (accounts.signals.account_email) ---------------------------------------
def queue_account_email(*, key: str, to: str, language: str, template: str, context: dict) -> OutboxMessage:
    """Render ``accounts/emails/<template>`` (subject, text, HTML) in ``language`` and queue it."""
    with translation.override(language):
        subject = " ".join(render_to_string(f"accounts/emails/{template}_subject.txt", context).split())
        text = render_to_string(f"accounts/emails/{template}.txt", context)
        html = render_to_string(f"accounts/emails/{template}.html", context)
    row, _created = queue(key=key, to=to, language=language,
                          rendered=Rendered(subject=subject[:255], text=tidy_text(text), html=html.strip()))
    return row
