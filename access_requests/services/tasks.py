"""Holder tasks: each data holder's contract, matching and extraction for a request.

Tasks are opened, one per holder of the request's datasets, when the request enters
contracting (``core.open_tasks``: authorise, approve_without_review; the history import writes
its own in bulk, access_requests.history_import). Each service here has the one shape: atomic block → lock
the request, then the task(s) → the workflow's checks (workflow.TASK_TRANSITIONS) and the actor's
role on the task (roles.task_roles: a holder's staff act on their own holder's tasks only) →
the task transition → save → the task's event row → the request follows its least advanced task
(``follow_tasks``: the request's own transitions, fired with the same actor and instant, each
logged as an Event and announced as any request change) → ``signals`` after commit.

The request-level actions keep their names (``record_contract_signed``, ``record_matching_done``,
``deliver`` in ``pathway``): they act on every task the actor may act on (``act_on_tasks``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from access_requests import signals
from access_requests.exceptions import ActionNotPermitted, ConcurrentUpdate, IllegalTransition, InvalidInput, NotFound
from access_requests.models import AccessRequest, HolderTask
from access_requests.roles import task_roles
from access_requests.services.core import (
    act,
    append_event,
    append_task_event,
    check_expected,
    check_transition,
    facts_of,
    label,
    load_for_update,
    text,
)
from access_requests.workflow import (
    TASK_ACTIVE_REQUEST_STATES,
    TASK_ROLES,
    TASK_TRANSITIONS,
    EventAction,
    HolderTaskState,
    Role,
    action_transition,
    request_moves,
    request_state_of_tasks,
    task_action_refusal,
    task_action_roles,
    task_action_transition,
)

_ROLE_ORDER = [r.value for r in Role]


class TaskNotFound(NotFound):
    """No holder task by that id."""


def task_label(state: str) -> str:
    return str(HolderTaskState(state).label) if state in HolderTaskState.values else state


def _usable_role(task: HolderTask, actor, allowed: Iterable[str], acting_as: Iterable[str] | None) -> str | None:
    """The role under which ``actor`` may act on ``task`` among ``allowed``, or None. No actor: the system."""
    if actor is None:
        return Role.SYSTEM
    usable = task_roles(actor, task) & set(allowed)
    if acting_as is not None:
        usable &= set(acting_as)
    if not usable:
        return None
    if actor.is_superuser:
        return Role.ADMINISTRATOR  # recorded as what it is, whatever role it stands in for
    return min(usable, key=_ROLE_ORDER.index)


def task_acting_role(task: HolderTask, actor, allowed: Iterable[str], acting_as: Iterable[str] | None = None) -> str:
    """The role under which ``actor`` acts on ``task``, or ActionNotPermitted."""
    role = _usable_role(task, actor, allowed, acting_as)
    if role is None:
        raise ActionNotPermitted(_("Votre rôle ne permet pas cette action sur la tâche de %(holder)s "
                                   "(demande %(reference)s).") % {"holder": task.holder.name,
                                                                  "reference": task.request.reference})
    return role


def _load_task(task_id: int) -> tuple[AccessRequest, HolderTask]:
    """Lock the task's request, then the task (the order every task write takes)."""
    try:
        request_id = HolderTask.objects.filter(pk=task_id).values_list("request_id", flat=True).first()
    except (ValueError, TypeError):
        request_id = None
    if request_id is None:
        raise TaskNotFound(_("Tâche introuvable."))
    request = load_for_update(request_id)
    task = HolderTask.objects.select_for_update(of=("self",)).select_related("holder").get(pk=task_id)
    task.request = request
    return request, task


def _check_task_expected(task: HolderTask, expected_state: str | None) -> None:
    if expected_state is not None and task.state != expected_state:
        raise ConcurrentUpdate(
            _("La tâche de %(holder)s est passée de « %(seen)s » à « %(current)s » entre-temps ; "
              "rechargez la demande avant d'agir.") % {
                "holder": task.holder.name, "seen": task_label(expected_state), "current": task_label(task.state)})


def _check_request_active(request: AccessRequest, task: HolderTask, requested: str) -> None:
    """Tasks move only while the request is decided and under way (not paused, ended or delivered)."""
    if request.state not in TASK_ACTIVE_REQUEST_STATES:
        raise IllegalTransition(
            reference=request.reference, current=task_label(task.state), requested=task_label(requested),
            reason=_("La demande est à l'étape « %(state)s » : ses tâches n'avancent pas.") % {
                "state": label(request.state)})


def _move(task: HolderTask, name: str, *, at: dt.datetime) -> str:
    """Fire the task transition ``name`` and save; returns the state it left."""
    source = task.state
    getattr(task, name)()
    task.entered_at = at
    if task.state == HolderTaskState.DELIVERED:
        task.delivered_at = at
    try:
        task.save()
    except ConcurrentTransition:
        raise ConcurrentUpdate(_("La tâche de %(holder)s a été modifiée entre-temps ; rechargez la demande.") % {
            "holder": task.holder.name}) from None
    return source


def follow_tasks(request: AccessRequest, *, actor, role: str, at: dt.datetime, comment: str = "") -> list:
    """Move the request to its least advanced task's state with its own transitions (as many as
    needed), each logged and announced as any request change; the actor's role was checked on
    the task. Returns the request events written."""
    states = HolderTask.objects.filter(request=request).values_list("state", flat=True)
    target = request_state_of_tasks(states)
    events = []
    for name in request_moves(request.state, target, requires_matching=request.requires_matching):
        source = request.state
        getattr(request, name)()
        try:
            request.save()
        except ConcurrentTransition:
            raise ConcurrentUpdate(_("La demande %(reference)s a été modifiée entre-temps ; rechargez-la.") % {
                "reference": request.reference}) from None
        event = append_event(request, from_state=source, to_state=request.state, action=name, actor=actor,
                             role=role, comment=comment, at=at)
        signals.announce(request, event)
        events.append(event)
    return events


def _after_task_change(request: AccessRequest, moved: list) -> None:
    if not moved:  # a moved request is announced with its events; a task alone still changes its delays
        signals.announce_after_commit(AccessRequest, request.pk)


# --- one task ------------------------------------------------------------------------------------
def act_on_task(*, task_id: int, actor, action: str, comment: str = "", expected_state: str | None = None,
                acting_as: Iterable[str] | None = None) -> HolderTask:
    """Take ``action`` (workflow.TASK_ACTIONS) on one task; the request follows."""
    with transaction.atomic():
        request, task = _load_task(task_id)
        _check_task_expected(task, expected_state)
        name = task_action_transition(action, requires_matching=task.requires_matching)
        target = str(TASK_TRANSITIONS[name].target)
        _check_request_active(request, task, target)
        refusal = task_action_refusal(action, task.state, requires_matching=task.requires_matching)
        if refusal:
            raise IllegalTransition(reference=request.reference, current=task_label(task.state),
                                    requested=task_label(target), reason=f"{task.holder.name} : {refusal}")
        role = task_acting_role(task, actor, task_action_roles(action, requires_matching=task.requires_matching),
                                acting_as)
        at = timezone.now()
        source = _move(task, name, at=at)
        append_task_event(task, from_state=source, to_state=task.state, action=name, actor=actor, role=role,
                          comment=comment, at=at)
        _after_task_change(request, follow_tasks(request, actor=actor, role=role, at=at, comment=comment))
    return task


def record_task_contract_signed(*, task_id: int, actor, comment: str = "", expected_state: str | None = None,
                                acting_as: Iterable[str] | None = None) -> HolderTask:
    """The holder's contract is signed: its matching starts when the request links sources, else its extraction."""
    return act_on_task(task_id=task_id, actor=actor, action="record_contract_signed", comment=comment,
                       expected_state=expected_state, acting_as=acting_as)


def record_task_matching_done(*, task_id: int, actor, comment: str = "", expected_state: str | None = None,
                              acting_as: Iterable[str] | None = None) -> HolderTask:
    """The holder's matching is done: its extraction starts."""
    return act_on_task(task_id=task_id, actor=actor, action="record_matching_done", comment=comment,
                       expected_state=expected_state, acting_as=acting_as)


def deliver_task(*, task_id: int, actor, comment: str = "", expected_state: str | None = None,
                 acting_as: Iterable[str] | None = None) -> HolderTask:
    """The holder's data is in the project's workspace; the request is delivered with its last task."""
    return act_on_task(task_id=task_id, actor=actor, action="deliver", comment=comment,
                       expected_state=expected_state, acting_as=acting_as)


def set_task_due_date(*, task_id: int, actor, due_date: dt.date, comment: str = "",
                      acting_as: Iterable[str] | None = None) -> HolderTask:
    """Set the date a task is due by (no change of state: the event row records it)."""
    if not isinstance(due_date, dt.date) or isinstance(due_date, dt.datetime):
        raise InvalidInput(_("L'échéance doit être une date."))
    comment = text(comment, _("commentaire"), required=False, max_length=5000)
    with transaction.atomic():
        request, task = _load_task(task_id)
        role = task_acting_role(task, actor, TASK_ROLES, acting_as)
        if task.state == HolderTaskState.DELIVERED:
            raise InvalidInput(_("Cette tâche est terminée : son échéance ne change plus."))
        if due_date < task.created_at.date() - dt.timedelta(days=1):
            raise InvalidInput(_("L'échéance ne peut pas précéder l'ouverture de la tâche."))
        previous = task.due_date
        if previous == due_date:
            return task
        task.due_date = due_date
        task.save(update_fields=["due_date"])
        append_task_event(task, from_state=task.state, to_state=task.state, action=EventAction.SET_DUE_DATE,
                          actor=actor, role=role, comment=comment,
                          payload={"due_date": due_date.isoformat(),
                                   "previous": previous.isoformat() if previous else None})
        _after_task_change(request, [])
    return task


def assign_task(*, task_id: int, actor, assignee, acting_as: Iterable[str] | None = None) -> HolderTask:
    """Give a task to someone who may act on it (or to nobody with ``assignee=None``)."""
    with transaction.atomic():
        _request, task = _load_task(task_id)
        role = task_acting_role(task, actor, TASK_ROLES, acting_as)
        if assignee is not None and not (task_roles(assignee, task) & TASK_ROLES):
            raise InvalidInput(_("Cette personne ne peut pas agir sur la tâche de %(holder)s.") % {
                "holder": task.holder.name})
        previous = task.assignee_id
        if previous == (assignee.pk if assignee is not None else None):
            return task
        task.assignee = assignee
        task.save(update_fields=["assignee"])
        append_task_event(task, from_state=task.state, to_state=task.state, action=EventAction.ASSIGN, actor=actor,
                          role=role, payload={"assignee": task.assignee_id, "previous": previous})
    return task


# --- every task the actor may act on: the request-level actions -----------------------------------
def act_on_tasks(*, request_id: int, actor, action: str, comment: str = "", expected_state: str | None = None,
                 acting_as: Iterable[str] | None = None) -> AccessRequest:
    """Take ``action`` on every task of the request that waits on it and that ``actor`` may act
    on (the secretariat and the platform: every such task; a holder's staff: their own); the
    request follows its least advanced task. A request without tasks (no catalogue dataset),
    or not under way after its decision, answers as the request-level action always did."""
    with transaction.atomic():
        request = load_for_update(request_id)
        tasks = list(HolderTask.objects.select_for_update(of=("self",)).select_related("holder")
                     .filter(request=request).order_by("holder__name", "pk"))
        if not tasks or request.state not in TASK_ACTIVE_REQUEST_STATES:
            return act(request_id=request_id, actor=actor, action=action, comment=comment,
                       expected_state=expected_state, acting_as=acting_as)
        check_expected(request, expected_state)
        for task in tasks:
            task.request = request
        name = task_action_transition(action, requires_matching=request.requires_matching)
        target = str(TASK_TRANSITIONS[name].target)
        ready = [t for t in tasks if task_action_refusal(action, t.state, requires_matching=t.requires_matching) is None]
        if not ready:
            facts = facts_of(request)
            check_transition(request, action, facts, action_transition(action, facts) or name)
            raise IllegalTransition(reference=request.reference, current=label(request.state), requested=label(target))
        allowed = task_action_roles(action, requires_matching=request.requires_matching)
        roles = {t.pk: _usable_role(t, actor, allowed, acting_as) for t in tasks}
        if not any(roles.values()):
            raise ActionNotPermitted(_("Votre rôle ne permet pas cette action sur la demande %(reference)s.") % {
                "reference": request.reference})
        chosen = [t for t in ready if roles[t.pk]]
        if not chosen:
            mine = [t for t in tasks if roles[t.pk]]
            raise IllegalTransition(
                reference=request.reference, current=task_label(mine[0].state), requested=task_label(target),
                reason=_("Aucune des tâches qui vous reviennent n'attend cette action (%(tasks)s).") % {
                    "tasks": ", ".join(f"{t.holder.name} : {task_label(t.state)}" for t in mine)})
        at = timezone.now()
        for task in chosen:
            source = _move(task, name, at=at)
            append_task_event(task, from_state=source, to_state=task.state, action=name, actor=actor,
                              role=str(roles[task.pk]), comment=comment, at=at)
        role = min((str(roles[t.pk]) for t in chosen), key=_ROLE_ORDER.index)
        _after_task_change(request, follow_tasks(request, actor=actor, role=role, at=at, comment=comment))
    return request
