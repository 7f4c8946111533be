"""Enqueue a Celery task from an on-commit callback without ever raising into the caller."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from celery import current_app
from kombu.exceptions import OperationalError as BrokerOperationalError

logger = logging.getLogger(__name__)

# What a publish raises when the broker is unreachable.
BROKER_ERRORS = (BrokerOperationalError, redis.exceptions.RedisError, ConnectionError)
# Enqueueing after a commit must not hold the request up for long when Redis is down:
# one quick retry, then the periodic sweep takes over.
_AFTER_COMMIT_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task: Any, *args: Any, **options: Any) -> bool:
    """Send ``task`` (a task, or a task's name) to the broker; on a broker outage log it and
    return False, never raise.

    Used from on-commit callbacks: the change is committed whatever happens here, and the
    work it enqueues is also picked up by a periodic job (the outbox sweep, the nightly
    delay refresh), so an outage delays it and loses nothing.
    """
    options.setdefault("retry_policy", _AFTER_COMMIT_RETRY)
    if isinstance(task, str):  # registered by its app's ready(); eager mode applies too
        task = current_app.tasks[task]
    name = task.name
    try:
        task.apply_async(args=args, **options)
    except BROKER_ERRORS as error:
        logger.warning("broker unavailable, %s%r not enqueued (the periodic job will do it): %s",
                       name, args, error)
        return False
    return True
