"""The emails and webhook deliveries a change causes are written in its transaction; after commit,
the sweeps send them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from access_requests.signals import expert_invited, message_posted, request_changed, request_committed, task_changed
from accounts.signals import account_email
from hdh_access.lib.broker import enqueue
from notifications import dossier_messages, messages, tasks
from notifications.webhooks import events as webhook_events


@receiver(request_changed, dispatch_uid="notifications.emails_of_change")
def emails_of_change(sender: Any, *, request: Any, event: Any, **kwargs: Any) -> None:
    messages.on_transition(request=request, event=event)


@receiver(request_committed, dispatch_uid="notifications.send_after_commit")
def send_after_commit(sender: Any, *, request_id: int, **kwargs: Any) -> None:
    enqueue(tasks.send_pending_outbox)


@receiver(account_email, dispatch_uid="notifications.account_email")
def queue_account_email(sender: Any, *, key: str, to: str, language: str, template: str, context: dict,
                        **kwargs: Any) -> None:
    messages.queue_account_email(key=key, to=to, language=language, template=template, context=context)
    transaction.on_commit(lambda: enqueue(tasks.send_pending_outbox))


@receiver(expert_invited, dispatch_uid="notifications.expert_invitation")
def queue_expert_invitation(sender: Any, *, invitation: Any, token: str, **kwargs: Any) -> None:
    """Written in the invitation's transaction; the sweep enqueued after its commit
    (request_committed) sends it."""
    dossier_messages.queue_expert_invitation(invitation=invitation, token=token)


# --- webhooks: each delivery written in the change's transaction; the sweep enqueued on commit ------
@receiver(request_changed, dispatch_uid="notifications.webhooks_of_change")
def webhooks_of_change(sender: Any, *, request: Any, event: Any, **kwargs: Any) -> None:
    webhook_events.on_request_event(request=request, event=event)


@receiver(message_posted, dispatch_uid="notifications.webhooks_of_message")
def webhooks_of_message(sender: Any, *, message: Any, **kwargs: Any) -> None:
    webhook_events.on_message(message=message)


@receiver(task_changed, dispatch_uid="notifications.webhooks_of_task")
def webhooks_of_task(sender: Any, *, task: Any, event: Any, **kwargs: Any) -> None:
    webhook_events.on_task_event(task=task, event=event)
