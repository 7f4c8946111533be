"""Celery tasks of access requests. Each takes ids, re-fetches, and is idempotent."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def recompute_request_delay(request_id: int) -> None:
    """Recompute one request's stage intervals and delay row from its events."""
    from .delay_service import materialise_request

    materialise_request(request_id)
