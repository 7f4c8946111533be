"""The outbox: every email is a row written in the transaction of the change that causes it.

``queue`` writes one row (or finds the one with its unique key), so nothing is queued twice.
``deliver`` claims one row with a conditional UPDATE, sends it through ``hdh_access.lib.emails``
and marks it sent; on failure it schedules the next attempt with exponential backoff, and marks
the row failed after ``HDH_OUTBOX_MAX_ATTEMPTS`` tries. ``send_pending`` is the sweep: every row
that is due. Administrators put failed rows back with ``retry_messages`` (the admin's "retry"
action). Nothing is sent inside a transaction.

The rules of a row to send (due, claim, backoff, retry or fail, abandoned claims, one sweep at a
time in a process, put back) are written once here for any ``models.Outgoing``: the webhook
deliveries (notifications.webhooks.delivery) follow them too, with their own settings.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from hdh_access.lib import emails
from hdh_access.lib.broker import enqueue
from notifications.models import OutboxMessage, OutboxStatus, Outgoing

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



def _fields(*, key: str, to: str, language: str, rendered: Rendered, attachment: tuple[str, str, bytes] | None = None,
            attachment_later: tuple[str, str, str] | None = None,
            inline_image: tuple[str, bytes] | None = None) -> dict[str, Any]:
    """The columns of one outbox row but its key (``queue``'s arguments)."""
    if len(key) > KEY_MAX:
        raise ValueError(f"outbox key longer than {KEY_MAX} characters: {key!r}")
    fields: dict[str, Any] = {"to": to, "language": language, "subject": rendered.subject, "text": rendered.text,
                              "html": rendered.html}
    if attachment:
        fields.update(attachment_name=attachment[0], attachment_mimetype=attachment[1],
                      attachment_content=attachment[2])
    elif attachment_later:
        fields.update(attachment_name=attachment_later[0], attachment_mimetype=attachment_later[1],
                      attachment_source=attachment_later[2])
    if inline_image:
        fields.update(inline_image_cid=inline_image[0], inline_image=inline_image[1])
    return fields


def queue(*, key: str, to: str, language: str, rendered: Rendered, attachment: tuple[str, str, bytes] | None = None,
          attachment_later: tuple[str, str, str] | None = None,
          inline_image: tuple[str, bytes] | None = None) -> tuple[OutboxMessage, bool]:
    """Write one outbox row (or find the one with this key). Returns (row, created).

    ``attachment``: (name, type, bytes). ``attachment_later``: (name, type, source), an attachment
    too costly to draw in the caller's transaction, drawn when the row is sent (``draw_attachment``).
    """
    defaults = _fields(key=key, to=to, language=language, rendered=rendered, attachment=attachment,
                       attachment_later=attachment_later, inline_image=inline_image)
    with transaction.atomic():  # a savepoint: a concurrent insert of the same key is not an error
        return OutboxMessage.objects.get_or_create(key=key, defaults=defaults)


def queue_many(messages: Sequence[dict[str, Any]]) -> list[OutboxMessage]:
    """Write several outbox rows (each ``queue``'s arguments) in one INSERT; returns the rows created.

    The emails of one change (a team told that a request entered its queue: one per member) have
    keys no row has yet, so they go in at once; if one of them exists (a job run again, a
    concurrent writer), the insert is undone and each row goes through ``queue``, which leaves
    the existing ones as they are."""
    rows = [OutboxMessage(key=message["key"], **_fields(**message)) for message in messages]
    if not rows:
        return []
    try:
        with transaction.atomic():
            return OutboxMessage.objects.bulk_create(rows)
    except IntegrityError:
        return [row for row, created in (queue(**message) for message in messages) if created]


# --- delivering ----------------------------------------------------------------------------
SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None
    # The mail server could not be reached at all (the sweep stops its batch there).
    unreachable: bool = False


def backoff_seconds(attempts: int, *, base: int | None = None, cap: int | None = None) -> int:
    """Wait before the next try after ``attempts`` tries: base × 2^(attempts-1), capped (the
    outbox's settings unless given)."""
    base = settings.HDH_OUTBOX_BACKOFF_SECONDS if base is None else base
    cap = settings.HDH_OUTBOX_BACKOFF_MAX_SECONDS if cap is None else cap
    return min(base * 2 ** max(attempts - 1, 0), max(cap, base))


Row = TypeVar("Row", bound=Outgoing)


def due(rows: QuerySet[Row], now: dt.datetime) -> QuerySet[Row]:
    """The rows to send now: pending, unclaimed or claim expired, attempt due."""
    return rows.filter(status=OutboxStatus.PENDING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def claim(rows: QuerySet[Row], pk: int, *, seconds: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """Take the row ``pk`` of ``rows`` if it is due: a conditional UPDATE sets its claim (returned)
    and counts the attempt. None: someone else has it, or it is sent, failed or not due.

    ``rows`` must not join another table (a filter on a relation makes Django update through a
    subquery, whose conditions PostgreSQL does not check again on a row a concurrent claim just
    changed: both would claim it); an ``Exists`` condition is fine."""
    now = now or timezone.now()
    lease = now + dt.timedelta(seconds=seconds)
    claimed = due(rows, now).filter(pk=pk).update(claimed_until=lease, attempts=F("attempts") + 1)
    return lease if claimed else None


def retry_or_fail(rows: QuerySet[Row], pk: int, *, attempts: int, lease: dt.datetime, max_attempts: int,
                  wait: int, **fields: Any) -> Outcome:
    """After a failed attempt of the row ``pk`` (still ours: pending, our claim): mark it failed
    after its last allowed attempt, else free it to be tried again in ``wait`` seconds. ``fields``
    are written either way (the error)."""
    mine = rows.filter(pk=pk, status=OutboxStatus.PENDING, claimed_until=lease)
    if attempts >= max_attempts:
        mine.update(status=OutboxStatus.FAILED, claimed_until=None, next_attempt_at=None, **fields)
        return Outcome(FAILED)
    mine.update(claimed_until=None, next_attempt_at=timezone.now() + dt.timedelta(seconds=wait), **fields)
    return Outcome(RETRY, retry_in=wait)


def mark_sent(rows: QuerySet[Row], pk: int, **fields: Any) -> int:
    """The row ``pk`` left: sent, never sent again."""
    return rows.filter(pk=pk, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.SENT, sent_at=timezone.now(), claimed_until=None, next_attempt_at=None, **fields)


ABANDONED = "the last attempt did not finish (the sending worker stopped)"


def abandoned(rows: QuerySet[Row], *, max_attempts: int, now: dt.datetime) -> QuerySet[Row]:
    """Rows whose last allowed attempt never finished (a worker died): to be marked failed."""
    return rows.filter(status=OutboxStatus.PENDING, attempts__gte=max_attempts, claimed_until__lte=now)


def put_back(rows: QuerySet[Row], ids: Iterable[int], *, now: dt.datetime | None = None) -> int:
    """Failed (or waiting) rows to be sent now with a fresh attempt budget; never a sent row, nor
    one being sent right now."""
    now = now or timezone.now()
    return (rows.filter(pk__in=list(ids))
            .filter(Q(status=OutboxStatus.FAILED) | Q(status=OutboxStatus.PENDING) & (
                Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)))
            .update(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=None, claimed_until=None))


def _due(now: dt.datetime) -> QuerySet[OutboxMessage]:
    return due(OutboxMessage.objects.all(), now)


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
    lease = claim(OutboxMessage.objects.all(), message_id, seconds=settings.HDH_OUTBOX_CLAIM_SECONDS)
    if lease is None:
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
    mark_sent(OutboxMessage.objects.all(), message_id)
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
    description = _describe(error)
    wait = backoff_seconds(message.attempts)
    outcome = retry_or_fail(OutboxMessage.objects.all(), message.pk, attempts=message.attempts, lease=lease,
                            max_attempts=settings.HDH_OUTBOX_MAX_ATTEMPTS, wait=wait, last_error=description)
    if outcome.status == FAILED:
        logger.error("outbox: giving up on %s to %s after %d attempts: %s", message.key, message.to,
                     message.attempts, description)
    else:
        logger.warning("outbox: attempt %d for %s to %s failed, next in %d s: %s", message.attempts, message.key,
                       message.to, wait, description)
    return outcome


def give_up_on_abandoned(*, now: dt.datetime | None = None) -> int:
    """Rows whose last allowed attempt never finished (a worker died): marked failed."""
    count = abandoned(OutboxMessage.objects.all(), max_attempts=settings.HDH_OUTBOX_MAX_ATTEMPTS,
                      now=now or timezone.now()).update(status=OutboxStatus.FAILED, claimed_until=None,
                                                        last_error=ABANDONED)
    if count:
        logger.error("outbox: %d message(s) failed: their last attempt never finished", count)
    return count


class OneSweepAtATime:
    """One sweep at a time in a process. Without a worker (`make run`: tasks run in the request's
    thread after each commit) every transition starts a sweep, and concurrent sweeps only fight over
    the same rows: each claim is a write, and on SQLite every write waits its turn for the one write
    lock (at 50 users, a transition's page took 30 s). A sweep asked for while one runs is left to
    it: the running sweep goes round again, at most ``EXTRA_ROUNDS`` times (its own request must
    end; a sweep asked for after that is done by the next one, or by beat's)."""

    EXTRA_ROUNDS = 3

    def __init__(self) -> None:
        self._sweeping = threading.Lock()
        self._wanted = threading.Event()

    def run(self, sweep: Callable[[], dict[int, Outcome]]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        self._wanted.set()
        rounds = 0
        while self._wanted.is_set() and rounds <= self.EXTRA_ROUNDS:
            if not self._sweeping.acquire(blocking=False):
                return outcomes  # the running sweep has seen _wanted
            try:
                while self._wanted.is_set() and rounds <= self.EXTRA_ROUNDS:
                    self._wanted.clear()
                    rounds += 1
                    outcomes.update(sweep())
            finally:
                self._sweeping.release()
        return outcomes


_one_sweep = OneSweepAtATime()


def send_pending(*, limit: int | None = None) -> dict[int, Outcome]:
    """The sweep: send every due row (oldest first), up to ``limit`` (HDH_OUTBOX_BATCH); nothing
    when another thread of the process is sweeping (it goes round again for this call)."""
    return _one_sweep.run(lambda: _sweep(limit=limit))


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
    with transaction.atomic():
        count = put_back(OutboxMessage.objects.all(), message_ids)
        logger.info("outbox: %s put %d message(s) back to be sent", actor, count)
        transaction.on_commit(lambda: enqueue(SWEEP_TASK))
    return count
