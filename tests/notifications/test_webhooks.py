"""Webhooks: subscriptions through the services, signed POSTs to a real HTTP receiver after commit,
nothing for a rolled-back change, retries with backoff and the same webhook-id, the answer
recorded, a subscription disabled after repeated failures with its owner's email, the address's
checks against server-side request forgery."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
import standardwebhooks
import time_machine
from django.db import transaction
from django.utils import timezone

from access_requests import services
from access_requests.workflow import State
from hdh_access.lib.errors import ActionNotPermitted, InvalidInput, NotFound
from notifications import outbox
from notifications.models import (
    DisabledReason,
    OutboxMessage,
    OutboxStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from notifications.webhooks import delivery, selectors, signing
from notifications.webhooks import services as webhooks

pytestmark = pytest.mark.django_db
ALL = list(WebhookEvent.values)


def subscribe(owner, receiver, events=ALL, **kwargs):
    return webhooks.create_subscription(owner=owner, url=receiver.url(), events=events, actor=owner, **kwargs)


def verify_independently(secret: str, headers: dict, body: str) -> None:
    """The Standard Webhooks check, written again here from the specification."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert expected in headers["webhook-signature"].split(" ")


def forward(request, personas, capture):
    with capture(execute=True):
        return services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])


# --- subscriptions -------------------------------------------------------------------------------
def test_creating_a_subscription_returns_its_secret_once_in_the_standard_webhooks_form(applicant, receiver):
    subscription, secret = subscribe(applicant, receiver, events=["task.changed", "request.transition"])

    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert subscription.secret == secret  # stored as it is: the worker signs with it
    assert subscription.events == ["request.transition", "task.changed"]  # in the enum's order
    assert subscription.is_active and subscription.created_by == applicant
    assert list(selectors.subscriptions_of(applicant)) == [subscription]


@pytest.mark.parametrize(("url", "allow_http", "message"), [
    ("ftp://exemple.fr/hooks", True, "URL complète"),
    ("pas une adresse", True, "URL complète"),
    ("http://hooks.exemple.fr/", False, "https://"),
    ("https://moi:secret@hooks.exemple.fr/", False, "mot de passe"),
    ("https://127.0.0.1/hooks", False, "locale ou privée"),
    ("https://10.1.2.3/hooks", False, "locale ou privée"),
    ("https://169.254.169.254/latest/meta-data", False, "locale ou privée"),
    ("https://[::1]/hooks", False, "locale ou privée"),
    ("https://localhost/hooks", False, "locale ou privée"),
])
def test_an_address_that_is_not_a_public_https_url_is_refused(applicant, settings, url, allow_http, message):
    settings.HDH_WEBHOOK_ALLOW_HTTP = allow_http
    settings.HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    with pytest.raises(InvalidInput, match=message):
        webhooks.create_subscription(owner=applicant, url=url, events=ALL, actor=applicant)
    assert not WebhookSubscription.objects.exists()


def test_events_must_be_known_and_at_least_one(applicant, receiver):
    with pytest.raises(InvalidInput, match="inconnu"):
        subscribe(applicant, receiver, events=["request.deleted"])
    with pytest.raises(InvalidInput, match="au moins un"):
        subscribe(applicant, receiver, events=[])


def test_one_person_has_at_most_the_set_number_of_subscriptions(applicant, receiver, settings):
    settings.HDH_WEBHOOK_MAX_SUBSCRIPTIONS = 2
    subscribe(applicant, receiver)
    subscribe(applicant, receiver)

    with pytest.raises(InvalidInput, match="au plus 2"):
        subscribe(applicant, receiver)


def test_only_the_owner_or_an_administrator_manages_a_subscription(applicant, colleague, superuser, receiver):
    with pytest.raises(ActionNotPermitted):
        webhooks.create_subscription(owner=applicant, url=receiver.url(), events=ALL, actor=colleague)
    subscription, _secret = webhooks.create_subscription(owner=applicant, url=receiver.url(), events=ALL,
                                                         actor=superuser)

    with pytest.raises(NotFound):  # another person's subscription is not theirs to see
        webhooks.disable_subscription(subscription_id=subscription.pk, actor=colleague)
    with pytest.raises(NotFound):
        selectors.subscription_of(colleague, subscription.pk)
    assert webhooks.disable_subscription(subscription_id=subscription.pk, actor=applicant).is_active is False
    assert webhooks.enable_subscription(subscription_id=subscription.pk, actor=superuser).is_active is True


# --- a transition, posted after commit -----------------------------------------------------------
def test_a_transition_is_posted_after_commit_signed_and_verifiable(
        make_request, personas, receiver, django_capture_on_commit_callbacks):
    request = make_request(State.SUBMITTED)
    subscription, secret = subscribe(personas["applicant"], receiver)

    forward(request, personas, django_capture_on_commit_callbacks)

    [post] = receiver.received
    assert post.path == "/hooks"
    assert post.headers["content-type"] == "application/json"
    verify_independently(secret, post.headers, post.body)
    assert standardwebhooks.Webhook(secret).verify(post.body, post.headers) == json.loads(post.body)
    payload = json.loads(post.body)
    assert payload["type"] == "request.transition"
    assert payload["data"] | {"event_id": None, "at": None} == {
        "reference": request.reference, "event_id": None, "action": "forward_to_cesrees", "from_state": "submitted",
        "to_state": "cesrees_review", "state": "cesrees_review", "role": "secretariat", "at": None}
    assert payload["timestamp"] == payload["data"]["at"] and payload["timestamp"].endswith("Z")
    assert abs(int(post.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.response_status, row.response_excerpt) == (OutboxStatus.SENT, 1, 200, "ok")
    assert row.webhook_id == post.headers["webhook-id"] and row.body == post.body
    assert row.duration_ms is not None and row.sent_at is not None
    assert list(selectors.deliveries_of(personas["applicant"])) == [row]


def test_nothing_is_posted_before_the_commit_nor_for_a_change_rolled_back(
        make_request, personas, receiver, django_capture_on_commit_callbacks):
    request = make_request(State.SUBMITTED)
    subscribe(personas["applicant"], receiver)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])
            assert WebhookDelivery.objects.count() == 1  # written in the change's transaction
            assert receiver.received == []  # nothing leaves inside it
            raise RuntimeError("the change fails after its event")

    assert callbacks == []
    assert not WebhookDelivery.objects.exists()
    delivery.send_pending()
    assert receiver.received == []


# --- failures: backoff, the same webhook-id, the answer recorded ---------------------------------
def test_a_failing_receiver_is_retried_with_backoff_and_the_same_webhook_id(
        make_request, personas, receiver, settings, django_capture_on_commit_callbacks):
    settings.HDH_WEBHOOK_TIMEOUT_SECONDS = 1
    settings.HDH_WEBHOOK_BACKOFF_SECONDS = 60
    request = make_request(State.SUBMITTED)
    _subscription, secret = subscribe(personas["applicant"], receiver)
    receiver.answers.extend([(500, b"Internal error: " + b"x" * 5000), ("sleep", 2.5)])

    forward(request, personas, django_capture_on_commit_callbacks)  # attempt 1: HTTP 500
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.response_status, row.last_error) == (OutboxStatus.PENDING, 1, 500,
                                                                               "HTTP 500")
    assert row.response_excerpt.startswith("Internal error: ") and len(row.response_excerpt) == delivery.EXCERPT_BYTES
    first_retry = row.next_attempt_at
    assert dt.timedelta(seconds=60) <= first_retry - row.last_attempt_at < dt.timedelta(seconds=61)

    assert delivery.send_pending() == {}  # not due yet
    with time_machine.travel(first_retry + dt.timedelta(seconds=1)):
        outcome = delivery.send_pending()[row.pk]  # attempt 2: the receiver does not answer in time
    row.refresh_from_db()
    assert outcome.status == outbox.RETRY and outcome.unreachable
    assert row.attempts == 2 and row.response_status is None and "Timeout" in row.last_error
    assert dt.timedelta(seconds=120) <= row.next_attempt_at - row.last_attempt_at < dt.timedelta(seconds=122)

    with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
        assert delivery.send_pending()[row.pk].status == outbox.SENT  # attempt 3
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status, row.last_error) == (OutboxStatus.SENT, 3, 200, "")
    assert len(receiver.received) == 3
    assert set(receiver.ids()) == {row.webhook_id}  # a receiver drops the duplicates by this id
    assert len({r.headers["webhook-timestamp"] for r in receiver.received}) == 3  # each attempt signed anew
    for post in receiver.received:
        verify_independently(secret, post.headers, post.body)
        assert post.body == row.body


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
        make_request, personas, receiver, django_capture_on_commit_callbacks):
    request = make_request(State.SUBMITTED)
    subscribe(personas["applicant"], receiver)
    receiver.answers.append(("redirect", "http://169.254.169.254/latest/meta-data"))

    forward(request, personas, django_capture_on_commit_callbacks)

    row = WebhookDelivery.objects.get()
    assert len(receiver.received) == 1
    assert row.status == OutboxStatus.PENDING and row.response_status == 302
    assert "redirect not followed" in row.last_error and "169.254.169.254" in row.last_error


def test_a_private_address_is_refused_when_posting_too(make_request, personas, receiver, settings, monkeypatch,
                                                       django_capture_on_commit_callbacks):
    """A name checked when the subscription was made may point elsewhere later: every address is
    checked again when posting, and the connection goes to the address checked."""
    request = make_request(State.SUBMITTED)
    subscribe(personas["applicant"], receiver)
    WebhookSubscription.objects.update(url=f"http://localtest.invalid:{receiver.port}/hooks")
    settings.HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    resolved = []

    def resolve(host, port, type=None):
        resolved.append(host)
        return [(2, 1, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(delivery.socket, "getaddrinfo", resolve)

    forward(request, personas, django_capture_on_commit_callbacks)

    row = WebhookDelivery.objects.get()
    assert resolved == ["localtest.invalid"] and receiver.received == []
    assert row.last_error == "refused: localtest.invalid resolves to an address that is not public (127.0.0.1)"


def test_the_sweep_leaves_an_unreachable_receivers_other_deliveries_for_the_next_one(
        make_request, personas, receiver, settings, django_capture_on_commit_callbacks):
    settings.HDH_WEBHOOK_TIMEOUT_SECONDS = 1
    subscribe(personas["applicant"], receiver)
    receiver.default = ("sleep", 2.5)
    for _n in range(3):
        make_request(State.SUBMITTED)  # each submission: one delivery, not posted yet (no commit here)
    pending = WebhookDelivery.objects.filter(status=OutboxStatus.PENDING).count()

    outcomes = delivery.send_pending()

    assert pending == 3 and len(outcomes) == 1 and len(receiver.received) == 1


# --- disabled after repeated failures --------------------------------------------------------------
def test_a_subscription_is_disabled_after_repeated_failed_deliveries_and_its_owner_told_once(
        make_request, personas, receiver, settings, django_capture_on_commit_callbacks):
    settings.HDH_WEBHOOK_MAX_ATTEMPTS = 1
    settings.HDH_WEBHOOK_MAX_FAILURES = 2
    applicant = personas["applicant"]
    subscription, _secret = subscribe(applicant, receiver, description="Notre entrepôt")
    receiver.default = (503, b"maintenance")
    make_request(State.SUBMITTED)
    request = make_request(State.SUBMITTED)  # two submissions, two deliveries: both fail

    delivery.send_pending()

    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason == DisabledReason.FAILURES
    assert subscription.consecutive_failures == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {OutboxStatus.FAILED}
    [email] = OutboxMessage.objects.filter(key__startswith=f"webhook-disabled:{subscription.pk}:")
    assert email.to == applicant.email
    assert email.subject == "Votre abonnement webhook est désactivé"
    assert receiver.url() in email.text and "Notre entrepôt" in email.text and "HTTP 503" in email.text
    assert "les 2 derniers envois ont échoué" in email.text

    # Disabled: no new delivery, nothing posted, no second email.
    forward(request, personas, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 2 and len(receiver.received) == 2
    assert OutboxMessage.objects.filter(key__startswith="webhook-disabled:").count() == 1

    # Enabled again: the count starts afresh; failed deliveries leave when put back.
    receiver.default = (200, b"ok")
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.enable_subscription(subscription_id=subscription.pk, actor=applicant)
        ids = list(selectors.deliveries_of(applicant, status=OutboxStatus.FAILED).values_list("pk", flat=True))
        assert webhooks.redeliver(delivery_ids=ids, actor=applicant) == 2
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 0
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert len(set(receiver.ids())) == 2


def test_a_delivery_sent_resets_the_count_of_failures(make_request, personas, receiver, settings):
    settings.HDH_WEBHOOK_MAX_ATTEMPTS = 1
    settings.HDH_WEBHOOK_MAX_FAILURES = 2
    subscription, _secret = subscribe(personas["applicant"], receiver)
    receiver.answers.extend([(500, b""), (200, b""), (500, b"")])
    for _n in range(3):
        make_request(State.SUBMITTED)

    delivery.send_pending()

    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 1


def test_a_delivery_whose_last_attempt_never_finished_is_failed_and_counted(
        make_request, personas, receiver, settings):
    settings.HDH_WEBHOOK_MAX_ATTEMPTS = 2
    settings.HDH_WEBHOOK_MAX_FAILURES = 1
    subscription, _secret = subscribe(personas["applicant"], receiver)
    make_request(State.SUBMITTED)
    # A worker claimed the last attempt and died: its claim has expired.
    WebhookDelivery.objects.update(attempts=2, claimed_until=timezone.now() - dt.timedelta(seconds=1))

    delivery.send_pending()

    row = WebhookDelivery.objects.get()
    assert row.status == OutboxStatus.FAILED and row.last_error == outbox.ABANDONED
    subscription.refresh_from_db()
    assert not subscription.is_active and receiver.received == []


# --- the secret's rotation ---------------------------------------------------------------------
def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(make_request, personas, receiver, settings):
    settings.HDH_WEBHOOK_SECRET_OVERLAP_HOURS = 24
    applicant = personas["applicant"]
    subscription, old = subscribe(applicant, receiver)
    _subscription, new = webhooks.rotate_secret(subscription_id=subscription.pk, actor=applicant)
    make_request(State.SUBMITTED)

    delivery.send_pending()
    post = receiver.received[-1]
    assert len(post.headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        verify_independently(secret, post.headers, post.body)

    WebhookDelivery.objects.update(status=OutboxStatus.FAILED)
    webhooks.redeliver(delivery_ids=WebhookDelivery.objects.values_list("pk", flat=True), actor=applicant)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        delivery.send_pending()
    post = receiver.received[-1]
    assert len(post.headers["webhook-signature"].split(" ")) == 1
    verify_independently(new, post.headers, post.body)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(old).verify(post.body, post.headers)


def test_the_command_posts_what_is_due(make_request, personas, receiver):
    from io import StringIO

    from django.core.management import call_command

    subscribe(personas["applicant"], receiver)
    make_request(State.SUBMITTED)
    output = StringIO()

    call_command("send_webhooks", stdout=output)

    assert "sent 1" in output.getvalue() and "still pending: 0" in output.getvalue()
    assert len(receiver.received) == 1


def test_the_verification_docs_api_md_gives_receivers_accepts_a_delivery_and_refuses_a_change(
        make_request, personas, receiver, django_capture_on_commit_callbacks):
    import re
    from pathlib import Path

    from django.conf import settings

    text = (Path(settings.BASE_DIR) / "docs" / "api.md").read_text()
    [code] = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the documentation's own example
    request = make_request(State.SUBMITTED)
    _subscription, secret = subscribe(personas["applicant"], receiver)

    forward(request, personas, django_capture_on_commit_callbacks)

    [post] = receiver.received
    assert namespace["verify"](secret, post.headers, post.body.encode())
    assert not namespace["verify"](secret, post.headers, post.body.replace("cesrees", "cnil").encode())
    assert not namespace["verify"](signing.new_secret(), post.headers, post.body.encode())
