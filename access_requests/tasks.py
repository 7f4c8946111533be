"""Celery tasks of the requests app: the antivirus scan of attachments and the purge of
one-time form tokens. Each takes ids, re-fetches, and is idempotent (a scanned attachment is
not scanned again)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task
from django.db import OperationalError

from access_requests import form_tokens
from access_requests.models import ScanStatus
from access_requests.services import scanning
from hdh_access.lib.clamav import ClamdUnavailable

logger = logging.getLogger(__name__)

RETRY_SECONDS = 30


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_form_submissions() -> int:
    """Nightly: forget the one-time form tokens too old to be posted again."""
    return form_tokens.purge_form_submissions()


@shared_task(bind=True, acks_late=True, max_retries=3)
def scan_attachment(self, attachment_id: int) -> str:
    """Scan one quarantined attachment (enqueued after its upload commits).

    clamd unreachable: on a worker, retried after 30 s, 60 s and 120 s; then (and at once when
    tasks run in-process, where nobody would retry and the upload would wait) the attachment is
    left pending for the periodic sweep. Never raised: the upload is committed whatever happens.
    """
    try:
        return scanning.scan_attachment(attachment_id=attachment_id)
    except ClamdUnavailable as error:
        attempt = self.request.retries + 1
        if self.request.is_eager or self.request.retries >= self.max_retries:
            logger.warning("attachment %s stays quarantined, clamd unavailable (attempt %d, the sweep will scan it): %s",
                           attachment_id, attempt, error)
            return ScanStatus.PENDING
        raise self.retry(exc=error, countdown=RETRY_SECONDS * 2 ** self.request.retries) from error


@shared_task(acks_late=True)
def scan_pending_attachments() -> dict:
    """Periodic sweep: scan what is still pending (clamd was down, a task was lost)."""
    return asdict(scanning.scan_pending())
