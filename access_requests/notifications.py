"""What to send to whom, and the outbox that sends it.

Composing: ``on_transition`` is called by the services inside the transaction of every
change of a request, right after its event row; it renders the emails that change causes
(templates ``templates/emails/<name>/{subject.txt,body.txt,body.html}``, in each recipient's
language) and writes them as ``OutboxMessage`` rows. ``queue_reminders`` does the same for
statutory due dates, once a working day. Each row has a unique key, so nothing is queued
twice. Nothing is sent inside a transaction.

Delivering: ``deliver`` claims one row with a conditional UPDATE, sends it through
``hdh_access.lib.emails`` and marks it sent; on failure it schedules the next attempt with
exponential backoff, and marks the row failed after ``HDH_OUTBOX_MAX_ATTEMPTS`` tries.
``send_pending`` is the sweep: every row that is due. Administrators put failed rows back
with ``retry_messages`` (the admin's "retry" action).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from hdh_access.lib import emails
from hdh_access.lib.dates import add_working_days, is_working_day, paris_date

from .models import AccessRequest, CesreesOpinion, Event, OutboxMessage, OutboxStatus, RequestDelay
from .workflow import STAGE_ROLES, TRANSITIONS, Role, Route, State, roles_for

logger = logging.getLogger(__name__)

KEY_MAX = OutboxMessage._meta.get_field("key").max_length


# --- rendering ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


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
        context = {"site_url": settings.SITE_URL.rstrip("/"), "language": language, **context}
        subject = render_to_string(f"emails/{name}/subject.txt", context)
        subject = " ".join(subject.split())
        context["subject"] = subject
        text = render_to_string(f"emails/{name}/body.txt", context)
        html = render_to_string(f"emails/{name}/body.html", context)
    return Rendered(subject=subject[:255], text=_tidy_text(text), html=html.strip())


def _tidy_text(text: str) -> str:
    """Template tags leave blank lines: keep at most one empty line in a row."""
    lines, blank = [], 0
    for line in text.strip().splitlines():
        line = line.rstrip()
        blank = blank + 1 if not line else 0
        if blank <= 1:
            lines.append(line)
    return "\n".join(lines) + "\n"


def queue(*, key: str, to: str, language: str, rendered: Rendered, attachment: tuple[str, str, bytes] | None = None,
          inline_image: tuple[str, bytes] | None = None) -> tuple[OutboxMessage, bool]:
    """Write one outbox row (or find the one with this key). Returns (row, created)."""
    if len(key) > KEY_MAX:
        raise ValueError(f"outbox key longer than {KEY_MAX} characters: {key!r}")
    defaults = {"to": to, "language": language, "subject": rendered.subject, "text": rendered.text,
                "html": rendered.html}
    if attachment:
        defaults.update(attachment_name=attachment[0], attachment_mimetype=attachment[1],
                        attachment_content=attachment[2])
    if inline_image:
        defaults.update(inline_image_cid=inline_image[0], inline_image=inline_image[1])
    with transaction.atomic():  # a savepoint: a concurrent insert of the same key is not an error
        return OutboxMessage.objects.get_or_create(key=key, defaults=defaults)


def _queue_for(users: Iterable, *, key_prefix: str, name: str, context: dict) -> list[OutboxMessage]:
    """One row per user with an address, rendered in the user's language."""
    created = []
    by_language: dict[str, Rendered] = {}
    for user in users:
        if not user.email:
            continue
        language = language_of(user)
        if language not in by_language:
            by_language[language] = render(name, context, language=language)
        row, was_created = queue(key=f"{key_prefix}:{user.pk}", to=user.email, language=language,
                                 rendered=by_language[language])
        if was_created:
            created.append(row)
    return created


# --- who ---------------------------------------------------------------------------------
def role_members(role: str, request: AccessRequest):
    """Active users holding ``role`` through its group; a data holder's staff only for the
    holders of the request's datasets. Superusers stand in for every role but are not
    written to for each: they are members of a group when they want its mail."""
    users = get_user_model().objects.filter(is_active=True, groups__name=str(role)).exclude(email="")
    if role == Role.DATA_HOLDER:
        holders = request.datasets.values_list("holder_id", flat=True)
        users = users.filter(profile__data_holder_id__in=holders)
    return users.select_related("profile").distinct().order_by("pk")


def queue_roles(state: str) -> frozenset[str]:
    """The roles whose work queue a request in ``state`` is in."""
    if state in STAGE_ROLES:
        return STAGE_ROLES[state]
    if state == State.DELIVERED:
        return roles_for(TRANSITIONS["close"], State.DELIVERED)
    return frozenset()


def _queue_members(request: AccessRequest, state: str, *, exclude_pk: int | None) -> list:
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
    """Due date and tacit decision of the request's open stage visit, from its events
    (read inside the transition's transaction, before the delay row is recomputed)."""
    from .delay_service import build_row

    events, extensions = [], []
    for from_state, to_state, action, at in Event.objects.filter(request=request).order_by("at", "id").values_list(
            "from_state", "to_state", "action", "at"):
        if action == "extend_review":
            extensions.append(at)
        elif from_state != to_state:
            events.append((to_state, at))
    if not events:
        return None
    row = build_row(request.pk, requires_matching=request.requires_matching, cesrees_opinion=request.cesrees_opinion,
                    route=request.route,
                    events=events, extension_instants=extensions, now=now, medians={})
    if row is None or row.ended_at is not None or not row.visits or not row.current_due_date:
        return None
    visit = row.visits[-1]
    effect = visit.get("tacit_effect_date")
    return {
        "stage": visit["stage"],
        "due_date": row.current_due_date,
        "tacit_decision": visit.get("tacit_decision"),
        "tacit_effect_date": dt.date.fromisoformat(effect) if effect else None,
        "target_date": row.deadline,
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


def _lazy_label(value: str):
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
    from django.utils.formats import date_format

    return date_format(value, "DATE_FORMAT")


def _request_context(request: AccessRequest) -> dict:
    base = settings.SITE_URL.rstrip("/")
    return {
        "reference": request.reference,
        "title": request.title,
        "organisation": request.organisation.name if request.organisation_id else "",
        "portal_url": f"{base}/portal/requests/{request.reference}/",
        "backoffice_url": f"{base}/backoffice/requests/{request.reference}/",
    }


def on_transition(*, request: AccessRequest, event: Event) -> list[OutboxMessage]:
    """Queue the emails a change of ``request`` causes (inside the services' transaction).

    - the applicant hears of every change of state, of every information request, and of a
      review period extended (its due date moves);
    - the members of the roles whose queue the request enters are told, but not the person
      who moved it there.
    """
    clock = current_clock(request, now=event.at)
    base = {**_request_context(request), "state": event.to_state, "state_label": _lazy_label(event.to_state),
            "clock": clock, "comment": event.comment, "at": event.at}
    rows: list[OutboxMessage] = []
    applicant = request.applicant if request.applicant_id else None
    applicants = [applicant] if applicant is not None and applicant.is_active else []
    prefix = f"event:{event.pk}"

    if event.action == "extend_review":
        rows += _queue_for(applicants, key_prefix=f"{prefix}:applicant", name="review_extended",
                           context={**base, "stage": event.to_state})
        return rows
    if event.from_state == event.to_state:
        return rows
    if event.action == "request_information":
        question = (event.payload or {}).get("question") or event.comment
        rows += _queue_for(applicants, key_prefix=f"{prefix}:applicant", name="information_requested",
                           context={**base, "question": question, "paused_from_label": _lazy_label(event.from_state)})
    elif event.action in APPLICANT_MESSAGES:
        rows += _queue_for_applicant_status(applicants, key_prefix=f"{prefix}:applicant", request=request,
                                            event=event, context=base)
    actor_pk = event.actor_id
    members = _queue_members(request, event.to_state, exclude_pk=actor_pk)
    if members:
        answer = (event.payload or {}).get("answer", "") if event.action == "resume" else ""
        rows += _queue_for(members, key_prefix=f"{prefix}:queue", name="queue_entered",
                           context={**base, "answer": answer, "action_label": TRANSITIONS[event.action].label
                                    if event.action in TRANSITIONS else event.action,
                                    "route": _route_label(request.route),
                                    "datasets": ", ".join(sorted(d.name for d in request.datasets.all()))})
    return rows


def _queue_for_applicant_status(users, *, key_prefix: str, request: AccessRequest, event: Event,
                                context: dict) -> list[OutboxMessage]:
    created = []
    for user in users:
        if not user.email:
            continue
        language = language_of(user)
        with translation.override(language):
            headline, paragraph = _applicant_paragraph(event.action, request, event)
        rendered = render("applicant_status", {**context, "headline": headline, "paragraph": paragraph,
                                               "terminal": event.to_state in (State.REJECTED, State.WITHDRAWN,
                                                                             State.CLOSED)},
                          language=language)
        row, was_created = queue(key=f"{key_prefix}:{user.pk}", to=user.email, language=language, rendered=rendered)
        if was_created:
            created.append(row)
    return created


# --- reminders -----------------------------------------------------------------------------
REMINDER_DUE_SOON = "due_soon"
REMINDER_OVERDUE = "overdue"


def _working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count, day = 0, start
    subdiv = settings.HDH_HOLIDAYS_SUBDIV
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day, subdiv):
            count += 1
    return count


def queue_reminders(*, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Remind the members of a stage's roles of a statutory due date: once when it is
    ``HDH_REMINDER_WORKING_DAYS`` working days away or nearer, once when it is past.

    Keyed by (request, entry into the stage, kind, recipient): each reminder goes once per
    stage visit however often this runs. Runs on working days only (a no-op otherwise).
    """
    now = now or timezone.now()
    today = paris_date(now)
    subdiv = settings.HDH_HOLIDAYS_SUBDIV
    if not is_working_day(today, subdiv):
        return []
    horizon = add_working_days(today, settings.HDH_REMINDER_WORKING_DAYS, subdiv)
    rows = (
        RequestDelay.objects.filter(ended_at__isnull=True, current_due_date__isnull=False,
                                    current_due_date__lte=horizon, current_since__isnull=False)
        .select_related("request", "request__organisation").order_by("current_due_date", "request_id")
    )
    created: list[OutboxMessage] = []
    for delay in rows:
        request = delay.request
        if request.state != delay.current_stage:  # a stale row: the request moved on
            continue
        overdue = today > delay.current_due_date
        kind = REMINDER_OVERDUE if overdue else REMINDER_DUE_SOON
        visit = delay.visits[-1] if delay.visits else {}
        effect = visit.get("tacit_effect_date")
        context = {
            **_request_context(request), "state": delay.current_stage, "state_label": _lazy_label(delay.current_stage),
            "overdue": overdue,
            "due_date": delay.current_due_date, "since": delay.current_since,
            "days_left": _working_days_between(today, delay.current_due_date),
            "days_late": (today - delay.current_due_date).days,
            "tacit_decision": visit.get("tacit_decision"),
            "tacit_effect_date": dt.date.fromisoformat(effect) if effect else None,
        }
        stamp = int(delay.current_since.timestamp() * 1_000_000)
        members = _queue_members(request, delay.current_stage, exclude_pk=None)
        with transaction.atomic():
            created += _queue_for(members, key_prefix=f"reminder:{kind}:{request.pk}:{stamp}", name="reminder",
                                  context=context)
    return created


# --- delivering ----------------------------------------------------------------------------
SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None
    # The mail server could not be reached at all (the sweep stops its batch there).
    unreachable: bool = False


def backoff_seconds(attempts: int) -> int:
    """Wait before the next try after ``attempts`` tries: base × 2^(attempts-1), capped."""
    base = settings.HDH_OUTBOX_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), max(settings.HDH_OUTBOX_BACKOFF_MAX_SECONDS, base))


def _due(now: dt.datetime):
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def deliver(message_id: int, *, connection=None) -> Outcome:
    """Send one outbox row if it is due and nobody else is sending it.

    1. claim: a conditional UPDATE (pending, unclaimed or claim expired, attempt due) sets
       ``claimed_until`` and counts the attempt; 0 rows updated means someone else has it,
       or it is sent, failed, or not due: nothing to do;
    2. send through the mail backend, outside any transaction;
    3. mark it sent (a short transaction) once the SMTP server accepted it; or record the
       error and when to try again, or mark it failed after the last attempt.

    A worker killed during 2 leaves a claim that expires after HDH_OUTBOX_CLAIM_SECONDS;
    the sweep then sends the row again (the server had not accepted it).
    """
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.HDH_OUTBOX_CLAIM_SECONDS)
    claimed = _due(now).filter(pk=message_id).update(claimed_until=lease, attempts=F("attempts") + 1)
    if not claimed:
        return Outcome(SKIPPED)
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        emails.send(message, connection=connection)
    except Exception as error:  # any failure is recorded and retried, never dropped
        if connection is not None:
            _close_quietly(connection)
        outcome = _record_failure(message, error, lease)
        if emails.is_unreachable(error):
            outcome = Outcome(outcome.status, outcome.retry_in, unreachable=True)
        return outcome
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.SENT, sent_at=timezone.now(), claimed_until=None, next_attempt_at=None)
    logger.info("outbox: sent %s to %s (attempt %d)", message.key, message.to, message.attempts)
    return Outcome(SENT)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # pragma: no cover - a connection already broken
        logger.debug("outbox: closing a broken mail connection failed", exc_info=True)


def _describe(error: BaseException) -> str:
    kind = "permanent" if emails.is_permanent(error) else "temporary"
    return f"{kind}: {type(error).__name__}: {error}"[:2000]


def _record_failure(message: OutboxMessage, error: BaseException, lease: dt.datetime) -> Outcome:
    now = timezone.now()
    description = _describe(error)
    mine = OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING, claimed_until=lease)
    if message.attempts >= settings.HDH_OUTBOX_MAX_ATTEMPTS:
        mine.update(status=OutboxStatus.FAILED, claimed_until=None, next_attempt_at=None, last_error=description)
        logger.error("outbox: giving up on %s to %s after %d attempts: %s", message.key, message.to,
                     message.attempts, description)
        return Outcome(FAILED)
    wait = backoff_seconds(message.attempts)
    mine.update(claimed_until=None, next_attempt_at=now + dt.timedelta(seconds=wait), last_error=description)
    logger.warning("outbox: attempt %d for %s to %s failed, next in %d s: %s", message.attempts, message.key,
                   message.to, wait, description)
    return Outcome(RETRY, retry_in=wait)


def give_up_on_abandoned(*, now: dt.datetime | None = None) -> int:
    """Rows whose last allowed attempt never finished (a worker died): marked failed."""
    now = now or timezone.now()
    count = OutboxMessage.objects.filter(
        status=OutboxStatus.PENDING, attempts__gte=settings.HDH_OUTBOX_MAX_ATTEMPTS, claimed_until__lte=now,
    ).update(status=OutboxStatus.FAILED, claimed_until=None,
             last_error="the last attempt did not finish (the sending worker stopped)")
    if count:
        logger.error("outbox: %d message(s) failed: their last attempt never finished", count)
    return count


def send_pending(*, limit: int | None = None) -> dict[int, Outcome]:
    """The sweep: send every due row (oldest first), up to ``limit`` (HDH_OUTBOX_BATCH)."""
    from django.core.mail import get_connection

    give_up_on_abandoned()
    limit = limit or settings.HDH_OUTBOX_BATCH
    ids = list(_due(timezone.now()).order_by("created_at", "id").values_list("pk", flat=True)[:limit])
    outcomes: dict[int, Outcome] = {}
    if not ids:
        return outcomes
    connection = get_connection(fail_silently=False)
    try:
        for pk in ids:
            outcomes[pk] = deliver(pk, connection=connection)
            if outcomes[pk].unreachable:
                # The server is down: leave the rest for the next sweep rather than wait for a
                # timeout on each of them (they are not claimed, so nothing is counted).
                logger.warning("outbox: mail server unreachable, %d message(s) left for the next sweep",
                               len(ids) - len(outcomes))
                break
    finally:
        _close_quietly(connection)
    return outcomes


def pending_count() -> int:
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()


def retry_messages(*, message_ids: Iterable[int], actor) -> int:
    """Put failed (or waiting) messages back to be sent now with a fresh attempt budget.

    Sent messages are never sent again, and a message being sent right now is left alone.
    The sweep is enqueued once the change is committed.
    """
    from . import tasks

    now = timezone.now()
    with transaction.atomic():
        count = (
            OutboxMessage.objects.filter(pk__in=list(message_ids))
            .filter(Q(status=OutboxStatus.FAILED) | Q(status=OutboxStatus.PENDING) & (
                Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)))
            .update(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=None, claimed_until=None)
        )
        logger.info("outbox: %s put %d message(s) back to be sent", actor, count)
        transaction.on_commit(lambda: tasks.enqueue(tasks.send_pending_outbox))
    return count
