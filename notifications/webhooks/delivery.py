"""Posting the webhook deliveries: the address's checks, the signed POST, the sweep, and the
subscription disabled after repeated failures.

Each delivery is a row like an outbox email (``models.Outgoing``) and follows the outbox's rules
(``notifications.outbox``: claim by a conditional UPDATE, backoff, bounded attempts, failed rows
visible and put back by hand, one sweep at a time in a process), with the HDH_WEBHOOK_* settings:

1. ``deliver`` claims a due delivery of an active subscription, signs it for this attempt
   (``signing``: the ``webhook-id`` is the delivery's, the same on every attempt; the timestamp is
   the attempt's), POSTs the stored body outside any transaction, and records the answer's status,
   the start of its body (``EXCERPT_BYTES``), the duration and the error;
2. a 2xx answer marks it sent; anything else (another status, a redirect, which is never
   followed, a timeout, a refused address) is tried again after the backoff, by the periodic
   sweep (a column, not a Celery countdown: the backoff reaches hours), up to
   HDH_WEBHOOK_MAX_ATTEMPTS attempts; then the delivery is failed;
3. a subscription whose HDH_WEBHOOK_MAX_FAILURES last finished deliveries failed is disabled, in
   the transaction that counts the last failure, with its owner's email (through the outbox, one per
   disabling); a delivery sent resets the count. Its pending deliveries wait until it is enabled.

At least once: a worker killed after the receiver answered but before the row was marked sent
posts it again once its claim expires (HDH_WEBHOOK_CLAIM_SECONDS); receivers drop duplicates by
``webhook-id``. The order of deliveries is not guaranteed (retries): each payload has its instant.

Against server-side request forgery: only ``https`` (unless HDH_WEBHOOK_ALLOW_HTTP), and only
public addresses (unless HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES): the host is resolved once, every
address it gives is checked, and the connection goes to the checked address (the name is kept for
TLS: SNI and the certificate's check), so a name that resolves elsewhere a second later
(DNS rebinding) gains nothing. Short timeouts, no redirects, no proxy.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from hdh_access.lib.broker import enqueue
from notifications import outbox
from notifications.messages import language_of, render
from notifications.models import DisabledReason, OutboxStatus, WebhookDelivery, WebhookSubscription
from notifications.outbox import FAILED, SENT, SKIPPED, Outcome
from notifications.webhooks import signing

logger = logging.getLogger(__name__)

EXCERPT_BYTES = 1000
USER_AGENT = "HDH-Access-Webhooks/1"
ERROR_MAX = 2000


# --- the address ---------------------------------------------------------------------------------
class AddressRefused(Exception):
    """The URL may not be posted to (its scheme, or an address that is not public)."""


# Why a URL is refused, as codes (the services say them in the user's language).
BAD_URL, SCHEME, CREDENTIALS, PRIVATE = "bad_url", "scheme", "credentials", "private"


def allowed_schemes() -> tuple[str, ...]:
    return ("https", "http") if settings.HDH_WEBHOOK_ALLOW_HTTP else ("https",)


def url_refusal(url: str) -> str | None:
    """What is wrong with ``url`` before any name is resolved, or None: not an absolute http(s) URL
    with a host, a scheme not allowed, credentials in it, or a literal address (or ``localhost``)
    that is not public."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        return BAD_URL
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return BAD_URL
    if parts.scheme not in allowed_schemes():
        return SCHEME
    if parts.username is not None or parts.password is not None:
        return CREDENTIALS
    if not settings.HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        host = parts.hostname
        if host == "localhost" or host.endswith(".localhost"):
            return PRIVATE
        try:
            if not is_public(host):
                return PRIVATE
        except ValueError:
            pass  # a name: its addresses are checked when it is posted to
    return None


def is_public(address: str) -> bool:
    """A globally routable unicast address (not loopback, private, link-local, shared, reserved,
    multicast; an IPv4-mapped IPv6 address is judged as the IPv4 one). ValueError: not an address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:  # pragma: no cover - getaddrinfo raises instead
        raise OSError(f"{host} has no address")
    if not settings.HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise AddressRefused(f"{host} resolves to an address that is not public ({refused[0]})")
    return addresses


# --- the POST ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str
    location: str = ""


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url`` (checked: ``url_refusal``, then every address of its host), on the
    first address, without following a redirect; read at most EXCERPT_BYTES of the answer."""
    refusal = url_refusal(url)
    if refusal:
        raise AddressRefused(f"{refusal}: {url}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _resolve(host, port)[0]
    timeout = urllib3.Timeout(connect=settings.HDH_WEBHOOK_TIMEOUT_SECONDS, read=settings.HDH_WEBHOOK_TIMEOUT_SECONDS)
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1,
                                           cert_reqs="CERT_REQUIRED", server_hostname=host, assert_hostname=host)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen("POST", target, body=body, headers={**headers, "Host": parts.netloc},
                                redirect=False, retries=False, preload_content=False, assert_same_host=False)
        try:
            excerpt = response.read(EXCERPT_BYTES, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError):
            excerpt = b""  # the status is the answer; the start of its body only helps whoever reads it
        finally:
            response.close()
    finally:
        pool.close()
    text = excerpt.decode("utf-8", errors="replace").replace("\x00", "")
    return Answer(status=response.status, excerpt=text, location=response.headers.get("Location", ""))


def _unreachable(error: BaseException) -> bool:
    """The receiver could not be reached or did not answer in time: its other deliveries wait for
    the next sweep rather than a timeout each."""
    return isinstance(error, urllib3.exceptions.NewConnectionError | urllib3.exceptions.TimeoutError
                      | socket.gaierror | ConnectionError)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_MAX]


def _answer_error(answer: Answer) -> str:
    if 300 <= answer.status < 400:
        return f"HTTP {answer.status}: redirect not followed ({answer.location[:500]})"
    return f"HTTP {answer.status}"


# --- one delivery --------------------------------------------------------------------------------
def _of_active_subscriptions() -> QuerySet[WebhookDelivery]:
    # An Exists condition, not a join: the claim's UPDATE must keep its conditions on the row itself.
    return WebhookDelivery.objects.filter(
        Exists(WebhookSubscription.objects.filter(pk=OuterRef("subscription_id"), is_active=True)))


def signing_secrets(subscription: WebhookSubscription, now: dt.datetime) -> list[str]:
    """The current secret, and the previous one while its overlap after a rotation lasts."""
    keys = [subscription.secret]
    if subscription.previous_secret and subscription.previous_secret_until and subscription.previous_secret_until > now:
        keys.append(subscription.previous_secret)
    return keys


def deliver(delivery_id: int) -> Outcome:
    """Post one delivery if it is due, its subscription active, and nobody else is posting it
    (module docstring)."""
    lease = outbox.claim(_of_active_subscriptions(), delivery_id, seconds=settings.HDH_WEBHOOK_CLAIM_SECONDS)
    if lease is None:
        return Outcome(SKIPPED)
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    now = timezone.now()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               **signing.signed_headers(signing_secrets(subscription, now), webhook_id=delivery.webhook_id,
                                        timestamp=int(now.timestamp()), body=delivery.body)}
    started = time.monotonic()
    answer: Answer | None = None
    error, unreachable = "", False
    try:
        answer = post(subscription.url, body=delivery.body.encode(), headers=headers)
    except AddressRefused as refused:
        error = f"refused: {refused}"[:ERROR_MAX]
    except (urllib3.exceptions.HTTPError, OSError) as failure:  # any failure is recorded and retried
        error, unreachable = _describe(failure), _unreachable(failure)
    fields = {"last_attempt_at": now, "duration_ms": int((time.monotonic() - started) * 1000),
              "response_status": answer.status if answer else None, "response_excerpt": answer.excerpt if answer else ""}
    rows = WebhookDelivery.objects.all()
    if answer is not None and 200 <= answer.status < 300:
        outbox.mark_sent(rows, delivery_id, last_error="", **fields)
        WebhookSubscription.objects.filter(pk=subscription.pk, consecutive_failures__gt=0).update(
            consecutive_failures=0)
        logger.info("webhooks: %s (%s) posted to subscription %s, HTTP %s (attempt %d)", delivery.webhook_id,
                    delivery.event_type, subscription.pk, answer.status, delivery.attempts)
        return Outcome(SENT)
    if answer is not None:
        error = _answer_error(answer)
    wait = outbox.backoff_seconds(delivery.attempts, base=settings.HDH_WEBHOOK_BACKOFF_SECONDS,
                                  cap=settings.HDH_WEBHOOK_BACKOFF_MAX_SECONDS)
    outcome = outbox.retry_or_fail(rows, delivery_id, attempts=delivery.attempts, lease=lease,
                                   max_attempts=settings.HDH_WEBHOOK_MAX_ATTEMPTS, wait=wait, last_error=error,
                                   **fields)
    if outcome.status == FAILED:
        logger.error("webhooks: giving up on %s to subscription %s after %d attempts: %s", delivery.webhook_id,
                     subscription.pk, delivery.attempts, error)
        count_failure(subscription.pk)
    else:
        logger.warning("webhooks: attempt %d of %s to subscription %s failed, next in %d s: %s", delivery.attempts,
                       delivery.webhook_id, subscription.pk, wait, error)
    return Outcome(outcome.status, outcome.retry_in, unreachable=unreachable)


# --- disabling after repeated failures ---------------------------------------------------------
def count_failure(subscription_id: int) -> bool:
    """One more delivery of the subscription failed for good; at HDH_WEBHOOK_MAX_FAILURES in a row
    it is disabled and its owner's email queued, in one transaction (a conditional UPDATE: one
    email per disabling, however many workers count at once). Returns whether this disabled it."""
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription_id).update(
            consecutive_failures=F("consecutive_failures") + 1)
        now = timezone.now()
        disabled = WebhookSubscription.objects.filter(
            pk=subscription_id, is_active=True, consecutive_failures__gte=settings.HDH_WEBHOOK_MAX_FAILURES,
        ).update(is_active=False, disabled_at=now, disabled_reason=DisabledReason.FAILURES, updated_at=now)
        if not disabled:
            return False
        subscription = WebhookSubscription.objects.select_related("owner__profile").get(pk=subscription_id)
        logger.error("webhooks: subscription %s (%s) disabled after %d failed deliveries in a row", subscription.pk,
                     subscription.url, subscription.consecutive_failures)
        queue_disabled_email(subscription)
    return True


def queue_disabled_email(subscription: WebhookSubscription) -> None:
    """The owner's email about their subscription disabled after failures (key: the subscription
    and the instant of this disabling), sent once the transaction commits."""
    owner = subscription.owner
    if not owner.email or not owner.is_active:
        logger.warning("webhooks: the owner of subscription %s has no address to be told it is disabled",
                       subscription.pk)
        return
    last = (WebhookDelivery.objects.filter(subscription=subscription, status=OutboxStatus.FAILED)
            .order_by("-last_attempt_at", "-pk").first())
    language = language_of(owner)
    rendered = render("webhook_disabled", {
        "url": subscription.url, "description": subscription.description,
        "failures": subscription.consecutive_failures, "disabled_at": subscription.disabled_at,
        "last_error": last.last_error if last else "",
    }, language=language)
    assert subscription.disabled_at is not None
    key = f"webhook-disabled:{subscription.pk}:{subscription.disabled_at.timestamp():.6f}"
    outbox.queue(key=key, to=owner.email, language=language, rendered=rendered)
    transaction.on_commit(lambda: enqueue(outbox.SWEEP_TASK))


# --- the sweep -----------------------------------------------------------------------------------
def give_up_on_abandoned(*, now: dt.datetime | None = None) -> int:
    """Deliveries whose last allowed attempt never finished (a worker died): failed, and counted
    against their subscription."""
    with transaction.atomic():
        rows = list(outbox.abandoned(WebhookDelivery.objects.all(), max_attempts=settings.HDH_WEBHOOK_MAX_ATTEMPTS,
                                     now=now or timezone.now())
                    .select_for_update(skip_locked=True).values_list("pk", "subscription_id"))
        if not rows:
            return 0
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _sub in rows]).update(
            status=OutboxStatus.FAILED, claimed_until=None, last_error=outbox.ABANDONED)
        for _pk, subscription_id in rows:
            count_failure(subscription_id)
    logger.error("webhooks: %d delivery(ies) failed: their last attempt never finished", len(rows))
    return len(rows)


_one_sweep = outbox.OneSweepAtATime()


def send_pending(*, limit: int | None = None) -> dict[int, Outcome]:
    """The sweep: post every due delivery of an active subscription (oldest first), up to ``limit``
    (HDH_WEBHOOK_BATCH); after a receiver could not be reached, its other deliveries wait for the
    next sweep. Nothing when another thread of the process is sweeping (it goes round again)."""
    return _one_sweep.run(lambda: _sweep(limit=limit))


def _sweep(*, limit: int | None) -> dict[int, Outcome]:
    give_up_on_abandoned()
    due = outbox.due(_of_active_subscriptions(), timezone.now()).order_by("created_at", "id")
    rows = list(due.values_list("pk", "subscription_id")[:limit or settings.HDH_WEBHOOK_BATCH])
    outcomes: dict[int, Outcome] = {}
    unreachable: set[int] = set()
    for pk, subscription_id in rows:
        if subscription_id in unreachable:
            continue
        outcomes[pk] = deliver(pk)
        if outcomes[pk].unreachable:
            unreachable.add(subscription_id)
    if unreachable:
        logger.warning("webhooks: %d receiver(s) unreachable, their other deliveries wait for the next sweep",
                       len(unreachable))
    return outcomes


def pending_count() -> int:
    return WebhookDelivery.objects.filter(status=OutboxStatus.PENDING).count()
