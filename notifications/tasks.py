"""Celery tasks of the notifications: the outbox, the webhooks, the thread's new messages, reminders,
the weekly report.

Each takes ids, re-fetches, and is idempotent (the outbox claims a row before sending it).
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from hdh_access.lib.broker import enqueue
from notifications import dossier_messages, outbox, reminders, weekly_report
from notifications.webhooks import delivery as webhooks


# --- mail ----------------------------------------------------------------------------------
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def send_pending_outbox() -> dict[str, int]:
    """Send every due outbox row (after each commit, and every minute from beat).

    A row that failed is retried by ``send_outbox_message`` after its backoff, and by this
    sweep whenever it runs after that instant.
    """
    outcomes = outbox.send_pending()
    for pk, outcome in outcomes.items():
        if outcome.status == outbox.RETRY:
            enqueue(send_outbox_message, pk, countdown=outcome.retry_in)
    return _summary(outcomes.values())


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=None)
def send_outbox_message(self, message_id: int) -> str:
    """Send one outbox row if due; after a failure, retry once its backoff has passed.

    Bounded by the row's own attempt count (HDH_OUTBOX_MAX_ATTEMPTS), which survives a
    lost task; the claim makes a duplicate delivery of this task harmless.
    """
    outcome = outbox.deliver(message_id)
    if outcome.status == outbox.RETRY and self.request.retries < settings.HDH_OUTBOX_MAX_ATTEMPTS:
        raise self.retry(countdown=outcome.retry_in, max_retries=settings.HDH_OUTBOX_MAX_ATTEMPTS)
    return outcome.status


# --- webhooks ------------------------------------------------------------------------------
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def send_pending_webhooks() -> dict[str, int]:
    """Post every due webhook delivery (after each commit that wrote some, and every
    HDH_WEBHOOK_SWEEP_SECONDS from beat, which also posts the retries once their backoff has
    passed: a column and a sweep, no countdown). Each delivery is claimed before it is posted."""
    return _summary(webhooks.send_pending().values())


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def notify_new_messages() -> int:
    """Every minute: one email per recipient and request about the thread's new messages (once
    the first is HDH_MESSAGE_EMAIL_DELAY_SECONDS old), then send them. Idempotent: each message
    is claimed once."""
    batch = dossier_messages.notify_new_messages()
    if batch.emails:
        enqueue(send_pending_outbox)
    return len(batch.emails)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def send_reminders() -> int:
    """Working days at 07:00: reminders of statutory due dates, then send them."""
    created = reminders.queue_reminders()
    if created:
        enqueue(send_pending_outbox)
    return len(created)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def send_weekly_report(as_of: str | None = None) -> int:
    """Mondays at 08:00: the weekly delay report to every subscriber, once per ISO week."""
    instant = dt.datetime.fromisoformat(as_of) if as_of else None
    result = weekly_report.queue_weekly_reports(as_of=instant)
    if result.created:
        enqueue(send_pending_outbox)
    return len(result.created)


def _summary(outcomes) -> dict[str, int]:
    summary: dict[str, int] = {}
    for outcome in outcomes:
        summary[outcome.status] = summary.get(outcome.status, 0) + 1
    return summary
