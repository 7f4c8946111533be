"""Celery tasks of access requests. Each takes ids, re-fetches, and is idempotent."""

from __future__ import annotations

import logging

import redis.exceptions
from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

logger = logging.getLogger(__name__)

# What a publish raises when the broker is unreachable.
BROKER_ERRORS = (BrokerOperationalError, redis.exceptions.RedisError, ConnectionError)
# Enqueueing after a commit must not hold the request up for long when Redis is down:
# one quick retry, then the periodic sweep takes over.
_AFTER_COMMIT_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task, *args, **options) -> bool:
    """Send ``task`` to the broker; on a broker outage log it and return False, never raise.

    Used from on-commit callbacks: the change is committed whatever happens here, and the
    work it enqueues is also picked up by a periodic job (the outbox sweep, the nightly
    delay refresh), so an outage delays it and loses nothing.
    """
    options.setdefault("retry_policy", _AFTER_COMMIT_RETRY)
    try:
        task.apply_async(args=args, **options)
    except BROKER_ERRORS as error:
        logger.warning("broker unavailable, %s%r not enqueued (the periodic job will do it): %s",
                       task.name, args, error)
        return False
    return True


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def recompute_request_delay(request_id: int) -> None:
    """Recompute one request's delay row from its events (enqueued after each commit)."""
    from .delay_service import materialise_request

    materialise_request(request_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def refresh_open_delays() -> int:
    """Nightly: refresh the forecast medians, then every open request (time passes)."""
    from .delay_service import refresh_open_delays as refresh

    return refresh()


# --- mail ----------------------------------------------------------------------------------
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def send_pending_outbox() -> dict[str, int]:
    """Send every due outbox row (after each commit, and every minute from beat).

    A row that failed is retried by ``send_outbox_message`` after its backoff, and by this
    sweep whenever it runs after that instant.
    """
    from . import notifications

    outcomes = notifications.send_pending()
    for pk, outcome in outcomes.items():
        if outcome.status == notifications.RETRY:
            enqueue(send_outbox_message, pk, countdown=outcome.retry_in)
    return _summary(outcomes.values())


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=None)
def send_outbox_message(self, message_id: int) -> str:
    """Send one outbox row if due; after a failure, retry once its backoff has passed.

    Bounded by the row's own attempt count (HDH_OUTBOX_MAX_ATTEMPTS), which survives a
    lost task; the claim makes a duplicate delivery of this task harmless.
    """
    from . import notifications

    outcome = notifications.deliver(message_id)
    if outcome.status == notifications.RETRY and self.request.retries < settings.HDH_OUTBOX_MAX_ATTEMPTS:
        raise self.retry(countdown=outcome.retry_in, max_retries=settings.HDH_OUTBOX_MAX_ATTEMPTS)
    return outcome.status


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def send_reminders() -> int:
    """Working days at 07:00: reminders of statutory due dates, then send them."""
    from . import notifications

    created = notifications.queue_reminders()
    if created:
        enqueue(send_pending_outbox)
    return len(created)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def send_weekly_report(as_of: str | None = None) -> int:
    """Mondays at 08:00: the weekly delay report to every subscriber, once per ISO week."""
    import datetime as dt

    from . import weekly_report

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


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def warm_dashboard() -> None:
    """Recompute the unfiltered delay dashboard into the cache (idempotent)."""
    from .dashboard import warm_cache

    warm_cache()
