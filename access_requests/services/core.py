"""The one shape of every write on a request.

atomic block → one ``select_for_update`` of the request → the state the caller saw → the
workflow's checks (the transition exists from the current state, the actor holds one of its
roles, its condition and the action's own rules hold) → the transition method (field updates
only) → save → one event row → ``signals.announce`` (emails written in the transaction by the
notifications app; after commit, the delay recompute and the outbox sweep).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
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
from access_requests.models import AccessRequest, Event, HolderTask, HolderTaskEvent
from access_requests.roles import user_roles
from access_requests.selectors.clock import open_visit
from access_requests.workflow import (
    EXTENSION_ROLES,
    TRANSITIONS,
    Facts,
    Role,
    State,
    action_refusal,
    action_roles,
    action_transition,
    condition_refusal,
    route_misfit,
)
from catalog.models import DataHolder
from delays import rules
from hdh_access.lib.dates import paris_date

_ROLE_ORDER = [r.value for r in Role]


def load_for_update(request_id: int) -> AccessRequest:
    try:
        return AccessRequest.objects.select_for_update().get(pk=request_id)
    except (AccessRequest.DoesNotExist, ValueError, TypeError):
        raise RequestNotFound(_("Demande introuvable.")) from None


def acting_role(request: AccessRequest, actor, allowed: Iterable[str], acting_as: Iterable[str] | None = None) -> str:
    """The role under which ``actor`` acts, or ActionNotPermitted. No actor: the system.

    ``acting_as``: the only roles the caller's channel lets the actor use (None: any).
    """
    if actor is None:
        return Role.SYSTEM
    usable = user_roles(actor, request) & set(allowed)
    if acting_as is not None:
        usable &= set(acting_as)
    if usable and actor.is_superuser:
        return Role.ADMINISTRATOR  # recorded as what it is, whatever role it stands in for
    if not usable:
        raise ActionNotPermitted(_("Votre rôle ne permet pas cette action sur la demande %(reference)s.") % {
            "reference": request.reference})
    return min(usable, key=_ROLE_ORDER.index)


def label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def append_event(request: AccessRequest, *, from_state: str, to_state: str, action: str, actor, role: str,
                 comment: str = "", payload: dict | None = None, at: dt.datetime | None = None) -> Event:
    return Event.objects.create(
        request=request, from_state=from_state, to_state=to_state, action=action,
        at=at or timezone.now(), actor=actor, role=role, comment=comment, payload=payload or {},
    )


def check_expected(request: AccessRequest, expected_state: str | None) -> None:
    """Refuse to act on a state the caller did not see (someone else acted in between)."""
    if expected_state is not None and request.state != expected_state:
        raise ConcurrentUpdate(
            _("La demande %(reference)s est passée de « %(seen)s » à « %(current)s » entre-temps ; "
              "rechargez-la avant d'agir.") % {
                "reference": request.reference, "seen": label(expected_state), "current": label(request.state)})


def text(value: str, field: str, *, required: bool = True, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(_("Le champ « %(field)s » est obligatoire.") % {"field": field})
    if max_length and len(value) > max_length:
        raise InvalidInput(_("Le champ « %(field)s » dépasse %(n)d caractères.") % {"field": field, "n": max_length})
    return value


def facts_of(request: AccessRequest) -> Facts:
    """What the workflow's rules need to know of ``request`` (one query for its datasets, none when
    the page prefetched them)."""
    misfit = ""
    if request.state == State.SUBMITTED:
        misfit = route_misfit(request.route, dataset_codes={dataset.code for dataset in request.datasets.all()},
                              brings_own_data=request.brings_own_data, requires_matching=request.requires_matching)
    cesrees_extended = cnil_extended = period_over = False
    if request.state in EXTENSION_ROLES:
        # Once per visit, while its period runs: the visit's legal clock says (delays.rules).
        refusal = rules.extension_refusal(open_visit(request, timezone.now()), timezone.now())
        extended = refusal == rules.EXTENSION_ALREADY
        cesrees_extended = extended and request.state == State.CESREES_REVIEW
        cnil_extended = extended and request.state == State.CNIL_REVIEW
        period_over = refusal == rules.EXTENSION_TOO_LATE
    return Facts(state=request.state, route=request.route, requires_matching=request.requires_matching,
                 paused_from=request.paused_from, route_misfit=misfit,
                 cesrees_extended=cesrees_extended, cnil_extended=cnil_extended, period_over=period_over)


def check_transition(request: AccessRequest, action: str, facts: Facts, name: str) -> None:
    """IllegalTransition unless the transition ``name`` (that ``action`` fires) leaves the request's
    state, its condition holds and the action's own rules agree (the role aside)."""
    spec = TRANSITIONS[name]
    source = request.state
    requested = spec.target or request.paused_from or State.AWAITING_APPLICANT
    if source not in spec.sources:
        raise IllegalTransition(reference=request.reference, current=label(source), requested=label(requested))
    refusal = condition_refusal(source, requested, requires_matching=request.requires_matching,
                                route=request.route, paused_from=request.paused_from)
    refusal = refusal or action_refusal(action, facts)
    if refusal:
        raise IllegalTransition(reference=request.reference, current=label(source), requested=label(requested),
                                reason=refusal)


def act(*, request_id: int, actor, action: str, comment: str = "", payload: dict | None = None,
        args: tuple = (), kwargs: dict | None = None, expected_state: str | None = None,
        transition: str | None = None, before: Callable[[AccessRequest], Any] | None = None,
        after: Callable[[AccessRequest, Event, str], Any] | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    """Take the workflow ``action`` on a request, in the one shape (module docstring).

    ``transition`` overrides the one the workflow picks for the action (a CNIL refusal fires
    ``reject`` from the CNIL stage); ``before(request)`` runs once the row is locked and checked
    (e.g. the completeness check of a submission), before the transition; ``after(request, event,
    role)`` once the event row is written, before the change is announced (the message of an
    information request and of its answer).
    """
    with transaction.atomic():
        request = load_for_update(request_id)
        check_expected(request, expected_state)
        facts = facts_of(request)
        name = transition or action_transition(action, facts)
        source = request.state
        if name is None:
            return _extend(request, facts, actor=actor, comment=comment, acting_as=acting_as)
        check_transition(request, action, facts, name)
        role = acting_role(request, actor, action_roles(action, facts), acting_as)
        if before is not None:
            before(request)
        getattr(request, name)(*args, **(kwargs or {}))
        if name == "resume":
            request.paused_from = ""
        try:
            request.save()
        except ConcurrentTransition:
            raise ConcurrentUpdate(_("La demande %(reference)s a été modifiée entre-temps ; rechargez-la.") % {
                "reference": request.reference}) from None
        event = append_event(request, from_state=source, to_state=request.state, action=name, actor=actor,
                             role=role, comment=comment, payload=payload)
        if after is not None:
            after(request, event, role)
        if request.state == State.CONTRACTING:
            # Decided: one task per data holder (none more when it resumes after a wait).
            open_tasks(request, at=event.at, actor=actor, role=role, action=name)
        signals.announce(request, event)
    return request


# --- holder tasks: opened with the contracting ----------------------------------------------------
def task_due_date(holder: DataHolder, opened_at: dt.datetime) -> dt.date:
    """A new task's due date: its opening day plus the holder's median delivery time (or
    HDH_HOLDER_DEFAULT_DAYS while the delays job does not know it)."""
    days = holder.median_delivery_days
    return paris_date(opened_at) + dt.timedelta(days=days if days is not None else settings.HDH_HOLDER_DEFAULT_DAYS)


def append_task_event(task: HolderTask, *, from_state: str, to_state: str, action: str, actor, role: str,
                      comment: str = "", payload: dict | None = None, at: dt.datetime | None = None
                      ) -> HolderTaskEvent:
    event = HolderTaskEvent.objects.create(
        task=task, from_state=from_state, to_state=to_state, action=action, at=at or timezone.now(), actor=actor,
        role=role, comment=comment, payload=payload or {},
    )
    signals.task_changed.send(sender=HolderTask, task=task, event=event)
    return event


def open_tasks(request: AccessRequest, *, at: dt.datetime, actor, role: str, action: str) -> list[HolderTask]:
    """Open a contracting task for each holder of the request's datasets that has none yet, each
    with its opening event (the request's action that decided it). In the caller's transaction,
    the request locked."""
    existing = set(HolderTask.objects.filter(request=request).values_list("holder_id", flat=True))
    opened = []
    for holder in DataHolder.objects.filter(datasets__access_requests=request).distinct().order_by("name"):
        if holder.pk in existing:
            continue
        task = HolderTask.objects.create(request=request, holder=holder, requires_matching=request.requires_matching,
                                         entered_at=at, created_at=at, due_date=task_due_date(holder, at))
        append_task_event(task, from_state="", to_state=task.state, action=action, actor=actor, role=role, at=at)
        opened.append(task)
    return opened


def _extend(request: AccessRequest, facts: Facts, *, actor, comment: str,
            acting_as: Iterable[str] | None) -> AccessRequest:
    """extend_review: no change of state; the event row records it (from and to the same state)."""
    if facts.state not in EXTENSION_ROLES:
        raise IllegalTransition(reference=request.reference, current=label(request.state),
                                requested=label(request.state), reason=action_refusal("extend_review", facts) or "")
    role = acting_role(request, actor, action_roles("extend_review", facts), acting_as)
    refusal = action_refusal("extend_review", facts)
    if refusal:
        raise InvalidInput(refusal)
    field = "cesrees_extended" if facts.state == State.CESREES_REVIEW else "cnil_extended"
    setattr(request, field, True)
    request.save(update_fields=[field, "updated_at"])
    event = append_event(request, from_state=request.state, to_state=request.state, action="extend_review",
                         actor=actor, role=role, comment=comment)
    signals.announce(request, event)
    return request
