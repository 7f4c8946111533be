"""Which subscriber hears of what, and what they are told: the deliveries an event causes.

Called inside the transaction of the change (notifications/receivers.py: ``request_changed``,
``message_posted``, ``task_changed`` of access_requests.signals), so the deliveries commit or roll
back with it; once it commits, the sweep posts them (``delivery.SWEEP_TASK``).

A subscription hears only of the requests its owner may read, and only what they read there, as
of the event. Which requests, and from which side, is the domain's rule
(``access_requests.visibility``, the querysets the portal, the back office and the API read
through), asked here by ``visibility.sides_of``:

- the **reviewers' side** (the back office): a submitted request, for staff who read every
  request (management included), or a data holder's staff when it asks for their datasets; a
  holder's staff hear only of their own holder's task;
- the **applicant's side** (the portal): the requests of their organisation, and their own; never
  an internal note, nor the back office's own organisation of work (assignments, experts: the
  events ``timeline.BACKOFFICE_ONLY_ACTIONS`` leaves out of the applicant's history);
- anyone else (a superuser included, on someone else's draft), or a deactivated owner: nothing.

A user on both sides hears what either side reads.

The payloads carry identifiers, states, actions, roles and instants: never a message's text, an
event's comment, a document, nor anyone's name or address (a receiver reads the rest through the
API, signed in). Types: ``request.transition`` (every event of the request's log, the changes of
state and those from a state to itself: an extension, an assignment), ``request.message``,
``task.changed``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.db import transaction

from access_requests.models import AccessRequest, Event, HolderTask, HolderTaskEvent, Message
from access_requests.visibility import REVIEWER, sides_of
from documents.timeline import BACKOFFICE_ONLY_ACTIONS
from hdh_access.lib.broker import enqueue
from notifications.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from notifications.webhooks.signing import new_webhook_id

# The sweep, by name: the tasks module imports the delivery module, which imports this one's models.
SWEEP_TASK = "notifications.tasks.send_pending_webhooks"


def instant(value: dt.datetime) -> str:
    """An instant as the payloads write it: ISO 8601 in UTC, ``Z``."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def body(event_type: str, at: dt.datetime, data: dict[str, Any]) -> str:
    """The JSON posted, the same on every attempt: ``type``, ``timestamp`` (the event's instant), ``data``."""
    return json.dumps({"type": event_type, "timestamp": instant(at), "data": data}, ensure_ascii=False,
                      separators=(",", ":"))


def write_deliveries(event_type: str, *, request: AccessRequest, event_key: str, at: dt.datetime,
                     data: Callable[[], dict[str, Any]], shown_to: Callable[[str], bool],
                     task: HolderTask | None = None) -> list[WebhookDelivery]:
    """One delivery per active subscription to ``event_type`` whose owner reads the request (with
    ``task``: that task) from a side ``shown_to(side)`` accepts, in the caller's transaction (at
    most one per subscription and ``event_key``); the sweep is enqueued once it commits. ``data``
    is read only when someone is told (the same for every side)."""
    deliveries = []
    content = ""
    told: dict[int, bool] = {}
    for subscription in _subscribed(event_type):
        owner_id = subscription.owner_id
        if owner_id not in told:
            # Once per owner, whatever their number of subscriptions: one query for the sides, and for
            # an owner who is not a superuser two more for their permissions (roles.can_open_backoffice).
            sides = sides_of(subscription.owner, request, task=task)
            told[owner_id] = any(shown_to(side) for side in sides)
        if not told[owner_id]:
            continue
        content = content or body(event_type, at, data())
        deliveries.append(WebhookDelivery(
            subscription=subscription, webhook_id=new_webhook_id(), event_type=event_type, event_key=event_key,
            reference=request.reference, body=content))
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        transaction.on_commit(lambda: enqueue(SWEEP_TASK))
    return deliveries


def _subscribed(event_type: str) -> list[WebhookSubscription]:
    # Few rows (HDH_WEBHOOK_MAX_SUBSCRIPTIONS per person), filtered here: JSON containment is not
    # available on SQLite.
    subscriptions = (WebhookSubscription.objects.filter(is_active=True, owner__is_active=True)
                     .select_related("owner__profile").order_by("pk"))
    return [s for s in subscriptions if event_type in s.events]


# --- the three kinds of event ------------------------------------------------------------------
def on_request_event(*, request: AccessRequest, event: Event) -> list[WebhookDelivery]:
    """An event of the request's log (``request_changed``)."""
    def data() -> dict[str, Any]:
        return {"reference": request.reference, "event_id": event.pk, "action": event.action,
                "from_state": event.from_state, "to_state": event.to_state, "state": event.to_state,
                "role": event.role, "at": instant(event.at)}

    return write_deliveries(WebhookEvent.TRANSITION, request=request, event_key=f"event:{event.pk}", at=event.at,
                            data=data, shown_to=_history_shown(event.action))


def on_message(*, message: Message) -> list[WebhookDelivery]:
    """A message of the thread (``message_posted``): who wrote it and when, never its text."""
    request = message.request

    def data() -> dict[str, Any]:
        return {"reference": request.reference, "message_id": message.pk, "kind": message.kind,
                "role": message.role, "internal": message.internal, "attachments": message.attachments.count(),
                "at": instant(message.created_at)}

    def shown_to(side: str) -> bool:
        return side == REVIEWER or not message.internal  # an internal note: the reviewers' side only

    return write_deliveries(WebhookEvent.MESSAGE, request=request, event_key=f"message:{message.pk}",
                            at=message.created_at, data=data, shown_to=shown_to)


def on_task_event(*, task: HolderTask, event: HolderTaskEvent) -> list[WebhookDelivery]:
    """An event of a holder task's log (``task_changed``): its opening, a move, a due date, an assignee."""
    request = task.request

    def data() -> dict[str, Any]:
        return {"reference": request.reference, "task_id": task.pk, "holder": task.holder.code,
                "holder_name": task.holder.name, "event_id": event.pk, "action": event.action,
                "from_state": event.from_state, "to_state": event.to_state, "state": event.to_state,
                "due_date": task.due_date.isoformat() if task.due_date else None, "role": event.role,
                "at": instant(event.at)}

    # The reviewers' side counts only where it reads this task (a data holder's staff: their own
    # holder's): sides_of checks it, given the task.
    return write_deliveries(WebhookEvent.TASK, request=request, event_key=f"task-event:{event.pk}",
                            at=event.at, data=data, shown_to=_history_shown(event.action), task=task)


def _history_shown(action: str) -> Callable[[str], bool]:
    """An event of a log: every one on the reviewers' side; on the applicant's, what its history shows."""
    return lambda side: side == REVIEWER or action not in BACKOFFICE_ONLY_ACTIONS
