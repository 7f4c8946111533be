"""The webhooks in the Django admin: a subscription created (its secret shown once, on that page
only), changed, disabled, enabled, its secret rotated, through the services; the deliveries read
only, with each answer, and put back by the "redeliver" action."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from notifications.models import OutboxStatus, WebhookDelivery, WebhookSubscription
from notifications.webhooks import services as webhooks

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def shown_secret(page) -> str:
    match = re.search(r'<code id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</code>', page.content.decode())
    assert match, page.content.decode()[:2000]
    return match.group(1)


def test_creating_a_subscription_shows_its_secret_once(admin_client, applicant, superuser, receiver):
    page = admin_client.post(reverse("admin:notifications_webhooksubscription_add"), {
        "owner": applicant.pk, "url": receiver.url(), "events": ["request.transition", "task.changed"],
        "description": "Entrepôt de l'équipe"})

    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    subscription = WebhookSubscription.objects.get()
    assert shown_secret(page) == subscription.secret
    assert (subscription.owner, subscription.created_by, subscription.events) == (
        applicant, superuser, ["request.transition", "task.changed"])
    change = admin_client.get(reverse("admin:notifications_webhooksubscription_change", args=[subscription.pk]))
    assert change.status_code == 200
    assert subscription.secret not in change.content.decode()  # never again: a hint only
    assert subscription.secret[:10] in change.content.decode()


def test_an_address_the_services_refuse_is_a_form_error(admin_client, applicant, settings):
    settings.HDH_WEBHOOK_ALLOW_HTTP = False
    page = admin_client.post(reverse("admin:notifications_webhooksubscription_add"), {
        "owner": applicant.pk, "url": "http://hooks.example.org/", "events": ["request.message"]})

    assert page.status_code == 200
    assert "L&#x27;adresse doit commencer par https://." in page.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_changing_disabling_enabling_and_rotating_go_through_the_services(admin_client, applicant, receiver):
    subscription, secret = webhooks.create_subscription(owner=applicant, url=receiver.url(),
                                                        events=["request.message"], actor=applicant)
    changelist = reverse("admin:notifications_webhooksubscription_changelist")

    admin_client.post(reverse("admin:notifications_webhooksubscription_change", args=[subscription.pk]), {
        "url": receiver.url("/other"), "events": ["request.message", "task.changed"], "description": "B"})
    subscription.refresh_from_db()
    assert (subscription.url, subscription.events, subscription.description) == (
        receiver.url("/other"), ["request.message", "task.changed"], "B")

    admin_client.post(changelist, {"action": "disable", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason == "manual"
    admin_client.post(changelist, {"action": "enable", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert subscription.is_active

    page = admin_client.post(changelist, {"action": "rotate", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert shown_secret(page) == subscription.secret != secret
    assert subscription.previous_secret == secret


def test_deliveries_are_listed_with_their_answer_and_put_back_by_redeliver(admin_client, applicant, receiver,
                                                                           make_request):
    webhooks.create_subscription(owner=applicant, url=receiver.url(), events=["request.transition"], actor=applicant)
    make_request("submitted")
    row = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(status=OutboxStatus.FAILED, attempts=10, response_status=502,
                                                     response_excerpt="Bad gateway <b>", last_error="HTTP 502")
    changelist = reverse("admin:notifications_webhookdelivery_changelist")

    page = admin_client.get(changelist, {"status__exact": "failed"})
    html = page.content.decode()
    assert page.status_code == 200 and row.reference in html and "HTTP 502" in html and "502" in html
    detail = admin_client.get(reverse("admin:notifications_webhookdelivery_change", args=[row.pk])).content.decode()
    assert "Bad gateway &lt;b&gt;" in detail and row.webhook_id in detail and 'name="_save"' not in detail

    admin_client.post(changelist, {"action": "redeliver", "_selected_action": [row.pk]})

    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
