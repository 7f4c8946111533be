"""Celery tasks of the accounts. Each calls a service and is idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from accounts import services


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_unconfirmed_accounts() -> dict[str, int]:
    """Daily at 03:15: delete sign-ups never confirmed (HDH_UNCONFIRMED_ACCOUNT_DAYS) and the
    organisations they alone created."""
    outcome = services.purge_unconfirmed_accounts(now=timezone.now())
    return {"users": outcome.users, "organisations": outcome.organisations, "kept": outcome.kept}
