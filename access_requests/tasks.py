"""Celery tasks of the requests app. Each is idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from access_requests import form_tokens


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_form_submissions() -> int:
    """Nightly: forget the one-time form tokens too old to be posted again."""
    return form_tokens.purge_form_submissions()
