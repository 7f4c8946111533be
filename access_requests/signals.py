"""How the pathway tells the rest of the product that a request changed.

``access_requests`` sits below ``delays`` and ``notifications`` and never imports them: its
services send these two Django signals, and the apps above connect receivers in their
``ready()`` (delays/receivers.py, notifications/receivers.py).

- ``request_changed`` is sent **inside** the service's transaction, right after the event row,
  with ``request`` and ``event``. Receivers write what must commit or roll back with the change
  (the outbox rows of the emails it causes). A receiver that raises rolls the change back.
- ``expert_invited`` is sent **inside** the transaction of an expert's invitation, with the
  invitation and the token of its link (stored nowhere else): the notifications write its email.
- ``message_posted`` is sent **inside** the transaction that writes a message of the thread (a
  plain message, an internal note, an information request and its answer), with ``message``, once
  its attachments are stored; ``task_changed`` inside the transaction that appends a holder task's
  event (its opening, a move, a due date, an assignee), with ``task`` and ``event``. A message
  changes no state and a task may change without its request: neither is announced by
  ``request_changed``. Their receivers (the webhook deliveries) enqueue their own work on commit.
- ``request_committed`` is sent **after** the commit, with ``request_id``. Receivers enqueue
  work (the delay recompute, the outbox sweep). It is sent robustly: a failing receiver is
  logged and never raises into the request, whose change is committed anyway; the periodic
  jobs (outbox sweep, nightly delay refresh) catch up with anything lost.

Signals rather than a registry of our own: Django's dispatcher already gives weak references,
per-sender filtering, ``send_robust`` and test isolation, and every Django reader knows it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

request_changed = Signal()
request_committed = Signal()
# Sent by services.experts.invite_expert inside its transaction with ``invitation`` and ``token``
# (the link's secret, stored nowhere else): the notifications write the invitation's email.
expert_invited = Signal()
# Sent by services.messages inside the transaction that writes a message, with ``message``.
message_posted = Signal()
# Sent by services.core.append_task_event inside the transaction that appends a holder task's event,
# with ``task`` and ``event`` (a HolderTaskEvent). The history import's tasks are not announced.
task_changed = Signal()
# Sent by the history import inside its transaction with ``request_ids``, the requests it wrote:
# their delay rows are materialised in that transaction, so the figures are up to date after it.
# ``prepared``: what the receivers of ``requests_importing`` gave back, finished.
requests_imported = Signal()
# Sent by the history import on PostgreSQL at its start, inside its transaction. A receiver may
# return an object with ``add(requests)``, called after each chunk of new requests is written
# with plain data (``(request_id, (requires_matching, cesrees_opinion, route), events)``, the
# events as ``selectors.clock.clock_log_rows`` selects them), ``finish()``, whose result goes to
# ``requests_imported`` in ``prepared``, and ``discard()``, called when the import fails.
requests_importing = Signal()


def announce(request: Any, event: Any) -> None:
    """Send ``request_changed`` now and ``request_committed`` once the transaction commits."""
    request_changed.send(sender=type(request), request=request, event=event)
    announce_after_commit(type(request), request.pk)


def announce_after_commit(sender: type, request_id: int) -> None:
    def send() -> None:
        for receiver, outcome in request_committed.send_robust(sender=sender, request_id=request_id):
            if isinstance(outcome, Exception):
                logger.error("request_committed receiver %r failed for request %s: %r", receiver, request_id, outcome)

    transaction.on_commit(send)
