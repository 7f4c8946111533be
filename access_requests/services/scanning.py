"""The antivirus: every attachment stored while HDH_CLAMAV_SOCKET is set waits in quarantine
(``ScanStatus.PENDING``, never served) until clamd has read it.

Clean: served. Infected: its content is deleted from storage and its row stays, with the
signature's name, for the audit. clamd refused to scan it (``ERROR``, e.g. larger than its
``StreamMaxLength``): it stays quarantined until an operator has it scanned again
(``manage.py scan_attachments --retry-errors``). clamd unreachable: it stays pending; the task
retries a few times, then the periodic sweep (``scan_pending``) scans it once clamd is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access_requests.models import Attachment, ScanStatus
from hdh_access.lib import clamav
from hdh_access.lib.broker import enqueue

logger = logging.getLogger(__name__)

# Registered by AccessRequestsConfig.ready(); named, because the tasks module imports this one.
SCAN_TASK = "access_requests.tasks.scan_attachment"
_STATUS_OF_VERDICT = {"clean": ScanStatus.CLEAN, "infected": ScanStatus.INFECTED, "error": ScanStatus.ERROR}


def initial_scan_status() -> str:
    """Quarantined while an antivirus is configured; otherwise stored "not scanned" and served."""
    return ScanStatus.PENDING if settings.HDH_CLAMAV_SOCKET else ScanStatus.NOT_SCANNED


def scan_after_commit(attachment_id: int) -> None:
    """Once the surrounding transaction commits, enqueue the scan (a broker outage is logged: the
    sweep scans it later)."""
    def enqueue_scan() -> None:  # a named function: a robust on_commit logs its failure by __qualname__
        enqueue(SCAN_TASK, attachment_id)

    transaction.on_commit(enqueue_scan, robust=True)


def scan_attachment(*, attachment_id: int) -> str:
    """Scan one pending attachment with clamd and record the verdict; return its scan status.

    Idempotent: an attachment that is not pending (scanned meanwhile, or removed: "") is left as
    it is. Raises ``clamav.ClamdUnavailable`` when clamd cannot be reached or does not answer in
    time; the attachment then stays pending.
    """
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        return ""
    if attachment.scan_status != ScanStatus.PENDING or not settings.HDH_CLAMAV_SOCKET:
        return attachment.scan_status
    try:
        with attachment.file.open("rb") as handle:
            # Outside any transaction: no row is locked while clamd reads.
            verdict = clamav.scan(handle, address=settings.HDH_CLAMAV_SOCKET, timeout=settings.HDH_CLAMAV_TIMEOUT)
    except FileNotFoundError:
        verdict = clamav.Verdict("error", "stored file missing")
    return _record(attachment_id, verdict)


def _record(attachment_id: int, verdict: clamav.Verdict) -> str:
    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().filter(pk=attachment_id).first()
        if attachment is None:
            return ""
        if attachment.scan_status != ScanStatus.PENDING:  # another scan finished first
            return attachment.scan_status
        attachment.scan_status = _STATUS_OF_VERDICT[verdict.status]
        attachment.scan_result = verdict.detail[:255]
        attachment.scanned_at = timezone.now()
        attachment.save(update_fields=["scan_status", "scan_result", "scanned_at"])
        if attachment.scan_status == ScanStatus.INFECTED:
            # Before the commit: if the status cannot be saved, the content is gone all the same
            # (a rescan then finds no file and says so).
            attachment.file.storage.delete(attachment.file.name)
            logger.warning("attachment %s of request %s is infected (%s): content deleted",
                           attachment.pk, attachment.request_id, verdict.detail)
        elif attachment.scan_status == ScanStatus.ERROR:
            logger.error("clamd could not scan attachment %s: %s (it stays quarantined)", attachment.pk, verdict.detail)
    return attachment.scan_status


@dataclass
class Sweep:
    """What a sweep did: how many attachments ended in each status, and why it stopped early."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ScanStatus.values, 0))
    clamd_unavailable: str = ""


def scan_pending(*, retry_errors: bool = False, include_unscanned: bool = False) -> Sweep:
    """Scan every pending attachment (the periodic sweep). Does nothing without HDH_CLAMAV_SOCKET.

    ``retry_errors`` puts back to pending those clamd refused to scan (after an operator fixed
    clamd's limits); ``include_unscanned`` quarantines and scans those stored before the antivirus
    was configured. Stops at the first attachment clamd cannot be reached for: the rest stay
    pending for the next sweep.
    """
    sweep = Sweep()
    if not settings.HDH_CLAMAV_SOCKET:
        return sweep
    again = ([ScanStatus.ERROR] if retry_errors else []) + ([ScanStatus.NOT_SCANNED] if include_unscanned else [])
    if again:
        Attachment.objects.filter(scan_status__in=again).update(scan_status=ScanStatus.PENDING, scan_result="",
                                                                scanned_at=None)
    ids = list(Attachment.objects.filter(scan_status=ScanStatus.PENDING).order_by("pk").values_list("pk", flat=True))
    for index, attachment_id in enumerate(ids):
        try:
            status = scan_attachment(attachment_id=attachment_id)
        except clamav.ClamdUnavailable as error:
            logger.warning("attachment sweep stopped, %d still pending: %s", len(ids) - index, error)
            sweep.counts[ScanStatus.PENDING] += len(ids) - index
            sweep.clamd_unavailable = str(error)
            break
        if status:
            sweep.counts[status] += 1
    return sweep
