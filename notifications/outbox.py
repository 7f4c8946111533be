"""The outbox: every email is a row written in the transaction of the change that causes it.

``queue`` writes one row (or finds the one with its unique key), so nothing is queued twice.
``deliver`` claims one row with a conditional UPDATE, sends it through ``hdh_access.lib.emails``
and marks it sent; on failure it schedules the next attempt with exponential backoff, and marks
the row failed after ``HDH_OUTBOX_MAX_ATTEMPTS`` tries. ``send_pending`` is the sweep: every row
that is due. Administrators put failed rows back with ``retry_messages`` (the admin's "retry"
action). Nothing is sent inside a transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hdh_access.lib import emails
from hdh_access.lib.broker import enqueue
from notifications.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

# The sweep, by name: the tasks module imports this one.
SWEEP_TASK = "notifications.tasks.send_pending_outbox"
KEY_MAX: int = OutboxMessage._meta.get_field("key").max_length or 0


# --- rendering ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str



def queue(*, key: str, to: str, language: str, rendered: Rendered, attachment: tuple[str, str, bytes] | None = None,
          attachment_later: tuple[str, str, str] | None = None,
          inline_image: tuple[str, bytes] | None = None) -> tuple[OutboxMessage, bool]:
    """Write one outbox row (or find the one with this key). Returns (row, created).

    ``attachment``: (name, type, bytes). ``attachment_later``: (name, type, source), an attachment
    too costly to draw in the caller's transaction, drawn when the row is sent (``draw_attachment``).
    """
    if len(key) > KEY_MAX:
        raise ValueError(f"outbox key longer than {KEY_MAX} characters: {key!r}")
    defaults: dict[str, Any] = {"to": to, "language": language, "subject": rendered.subject, "text": rendered.text,
                "html": rendered.html}
    if attachment:
        defaults.update(attachment_name=attachment[0], attachment_mimetype=attachment[1],
                        attachment_content=attachment[2])
    elif attachment_later:
        defaults.update(attachment_name=attachment_later[0], attachment_mimetype=attachment_later[1],
                        attachment_source=attachment_later[2])
    if inline_image:
        defaults.update(inline_image_cid=inline_image[0], inline_image=inline_image[1])
    with transaction.atomic():  # a savepoint: a concurrent insert of the same key is not an error
        return OutboxMessage.objects.get_or_create(key=key, defaults=defaults)



# --- delivering ----------------------------------------------------------------------------
SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None
    # The mail server could not be reached at all (the sweep stops its batch there).
    unreachable: bool = False


def backoff_seconds(attempts: int) -> int:
    """Wait before the next try after ``attempts`` tries: base × 2^(attempts-1), capped."""
    base = settings.HDH_OUTBOX_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), max(settings.HDH_OUTBOX_BACKOFF_MAX_SECONDS, base))


def _due(now: dt.datetime):
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def deliver(message_id: int, *, connection=None) -> Outcome:
    """Send one outbox row if it is due and nobody else is sending it.

    1. claim: a conditional UPDATE (pending, unclaimed or claim expired, attempt due) sets
       ``claimed_until`` and counts the attempt; 0 rows updated means someone else has it,
       or it is sent, failed, or not due: nothing to do;
    2. send through the mail backend, outside any transaction;
    3. mark it sent (a short transaction) once the SMTP server accepted it; or record the
       error and when to try again, or mark it failed after the last attempt.

    A worker killed during 2 leaves a claim that expires after HDH_OUTBOX_CLAIM_SECONDS;
    the sweep then sends the row again (the server had not accepted it).
    """
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.HDH_OUTBOX_CLAIM_SECONDS)
    claimed = _due(now).filter(pk=message_id).update(claimed_until=lease, attempts=F("attempts") + 1)
    if not claimed:
        return Outcome(SKIPPED)
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        _draw_attachment(message)
        emails.send(message, connection=connection)
    except Exception as error:  # any failure is recorded and retried, never dropped
        if connection is not None:
            _close_quietly(connection)
        outcome = _record_failure(message, error, lease)
        if emails.is_unreachable(error):
            outcome = Outcome(outcome.status, outcome.retry_in, unreachable=True)
        return outcome
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.SENT, sent_at=timezone.now(), claimed_until=None, next_attempt_at=None)
    logger.info("outbox: sent %s to %s (attempt %d)", message.key, message.to, message.attempts)
    return Outcome(SENT)


def _draw_attachment(message: OutboxMessage) -> None:
    """Draw the attachment of a row queued with ``attachment_later``, once: its bytes are kept in
    the row, so a retry sends the same file. A failure here is an attempt's failure (retried)."""
    if not message.attachment_source or message.attachment_content:
        return
    from notifications.messages import draw_attachment  # the messages module queues through this one

    message.attachment_content = draw_attachment(message.attachment_source, language=message.language)
    OutboxMessage.objects.filter(pk=message.pk).update(attachment_content=message.attachment_content)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # pragma: no cover - a connection already broken
        logger.debug("outbox: closing a broken mail connection failed", exc_info=True)


def _describe(error: BaseException) -> str:
    kind = "permanent" if emails.is_permanent(error) else "temporary"
    return f"{kind}: {type(error).__name__}: {error}"[:2000]


def _record_failure(message: OutboxMessage, error: BaseException, lease: dt.datetime) -> Outcome:
    now = timezone.now()
    description = _describe(error)
    mine = OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING, claimed_until=lease)
    if message.attempts >= settings.HDH_OUTBOX_MAX_ATTEMPTS:
        mine.update(status=OutboxStatus.FAILED, claimed_until=None, next_attempt_at=None, last_error=description)
        logger.error("outbox: giving up on %s to %s after %d attempts: %s", message.key, message.to,
                     message.attempts, description)
        return Outcome(FAILED)
    wait = backoff_seconds(message.attempts)
    mine.update(claimed_until=None, next_attempt_at=now + dt.timedelta(seconds=wait), last_error=description)
    logger.warning("outbox: attempt %d for %s to %s failed, next in %d s: %s", message.attempts, message.key,
                   message.to, wait, description)
    return Outcome(RETRY, retry_in=wait)


def give_up_on_abandoned(*, now: dt.datetime | None = None) -> int:
    """Rows whose last allowed attempt never finished (a worker died): marked failed."""
    now = now or timezone.now()
    count = OutboxMessage.objects.filter(
        status=OutboxStatus.PENDING, attempts__gte=settings.HDH_OUTBOX_MAX_ATTEMPTS, claimed_until__lte=now,
    ).update(status=OutboxStatus.FAILED, claimed_until=None,
             last_error="the last attempt did not finish (the sending worker stopped)")
    if count:
        logger.error("outbox: %d message(s) failed: their last attempt never finished", count)
    return count


# One sweep at a time in a process. Without a worker (`make run`: tasks run in the request's thread
# after each commit) every transition starts a sweep, and concurrent sweeps only fight over the
# same rows: each claim is a write, and on SQLite every write waits its turn for the one write lock
# (at 50 users, a transition's page took 30 s). A sweep asked for while one runs is left to it: the
# running sweep goes round again, at most _EXTRA_ROUNDS times (its own request must end; a sweep
# asked for after that is done by the next one, or by beat's).
_sweeping = threading.Lock()
_wanted = threading.Event()
_EXTRA_ROUNDS = 3


def send_pending(*, limit: int | None = None) -> dict[int, Outcome]:
    """The sweep: send every due row (oldest first), up to ``limit`` (HDH_OUTBOX_BATCH); nothing
    when another thread of the process is sweeping (it goes round again for this call)."""
    outcomes: dict[int, Outcome] = {}
    _wanted.set()
    rounds = 0
    while _wanted.is_set() and rounds <= _EXTRA_ROUNDS:
        if not _sweeping.acquire(blocking=False):
            return outcomes  # the running sweep has seen _wanted
        try:
            while _wanted.is_set() and rounds <= _EXTRA_ROUNDS:
                _wanted.clear()
                rounds += 1
                outcomes.update(_sweep(limit=limit))
        finally:
            _sweeping.release()
    return outcomes


def _sweep(*, limit: int | None) -> dict[int, Outcome]:
    from django.core.mail import get_connection

    give_up_on_abandoned()
    limit = limit or settings.HDH_OUTBOX_BATCH
    ids = list(_due(timezone.now()).order_by("created_at", "id").values_list("pk", flat=True)[:limit])
    outcomes: dict[int, Outcome] = {}
    if not ids:
        return outcomes
    connection = get_connection(fail_silently=False)
    try:
        for pk in ids:
            outcomes[pk] = deliver(pk, connection=connection)
            if outcomes[pk].unreachable:
                # The server is down: leave the rest for the next sweep rather than wait for a
                # timeout on each of them (they are not claimed, so nothing is counted).
                logger.warning("outbox: mail server unreachable, %d message(s) left for the next sweep",
                               len(ids) - len(outcomes))
                break
    finally:
        _close_quietly(connection)
    return outcomes


def pending_count() -> int:
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()


def retry_messages(*, message_ids: Iterable[int], actor) -> int:
    """Put failed (or waiting) messages back to be sent now with a fresh attempt budget.

    Sent messages are never sent again, and a message being sent right now is left alone.
    The sweep is enqueued once the change is committed.
    """
    now = timezone.now()
    with transaction.atomic():
        count = (
            OutboxMessage.objects.filter(pk__in=list(message_ids))
            .filter(Q(status=OutboxStatus.FAILED) | Q(status=OutboxStatus.PENDING) & (
                Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)))
            .update(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=None, claimed_until=None)
        )
        logger.info("outbox: %s put %d message(s) back to be sent", actor, count)
        transaction.on_commit(lambda: enqueue(SWEEP_TASK))
    return count
