"""Celery tasks of the delay engine. Each takes ids, re-fetches, and is idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from delays import dashboard, materialise
from hdh_access.db_router import replica_reads


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def recompute_request_delay(request_id: int) -> None:
    """Recompute one request's delay row from its events (enqueued after each commit)."""
    materialise.materialise_request(request_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def refresh_open_delays() -> int:
    """Nightly: refresh the forecast medians, then every open request (time passes)."""
    return materialise.refresh_open_delays()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def warm_dashboard() -> None:
    """Recompute the unfiltered delay dashboard into the cache (idempotent)."""
    with replica_reads():  # figures only: on the read replica when there is one
        dashboard.warm_cache()
