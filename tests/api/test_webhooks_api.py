"""Webhook subscriptions through the API: your own only, the secret once, If-Match on changes,
the services' refusals as problems, the deliveries a transition writes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from access_requests import services as request_services
from access_requests.workflow import State
from notifications.models import WebhookDelivery, WebhookSubscription
from tests.api.conftest import as_user

URL = "https://receiver.example/hooks"


@pytest.fixture(autouse=True)
def _https_receivers_only(settings):
    settings.HDH_WEBHOOK_ALLOW_HTTP = False


def create(client, **body):
    return client.post("/api/v1/webhooks/", {"url": URL, "events": ["request.transition"], **body}, format="json")


def test_a_subscription_is_created_with_its_secret_shown_once(api, personas):
    c = as_user(api, personas["secretariat"])
    created = create(c, description="Suivi")
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    pk = created.json()["subscription"]["id"]
    shown = c.get(f"/api/v1/webhooks/{pk}/")
    assert shown.status_code == 200 and "secret" not in shown.json() and secret not in shown.content.decode()
    assert [s["id"] for s in c.get("/api/v1/webhooks/").json()["results"]] == [pk]
    other = as_user(APIClient(), personas["cesrees"])
    assert other.get("/api/v1/webhooks/").json()["results"] == []
    assert other.get(f"/api/v1/webhooks/{pk}/").status_code == 404


def test_bad_subscriptions_are_refused_as_problems(api, personas):
    c = as_user(api, personas["secretariat"])
    plain = create(c, url="http://receiver.example/hooks")
    assert plain.status_code == 400 and plain["Content-Type"] == "application/problem+json"
    assert create(c, events=["request.teleported"]).status_code == 400
    assert create(c, events=[]).status_code == 400
    read_only = as_user(APIClient(), personas["secretariat"], "read")
    assert create(read_only).status_code == 403
    assert not WebhookSubscription.objects.exists()


def test_changes_need_the_current_etag(api, personas):
    c = as_user(api, personas["secretariat"])
    pk = create(c).json()["subscription"]["id"]
    etag = c.get(f"/api/v1/webhooks/{pk}/")["ETag"]
    url = f"/api/v1/webhooks/{pk}/"
    assert c.patch(url, {"is_active": False}, format="json").status_code == 428
    changed = c.patch(url, {"is_active": False, "description": "En pause"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert (changed.json()["is_active"], changed.json()["description"]) == (False, "En pause")
    assert c.patch(url, {"is_active": True}, format="json", HTTP_IF_MATCH=etag).status_code == 412
    rotated = c.post(f"{url}secret/", HTTP_IF_MATCH=changed["ETag"])
    assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsec_")
    assert c.delete(url, HTTP_IF_MATCH=rotated["ETag"]).status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_a_transition_writes_a_delivery_the_owner_reads(api, personas, make_request):
    request = make_request(State.SUBMITTED)
    c = as_user(api, personas["secretariat"])
    pk = create(c).json()["subscription"]["id"]
    request_services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])
    deliveries = c.get(f"/api/v1/webhooks/{pk}/deliveries/").json()["results"]
    assert [(d["event_type"], d["reference"]) for d in deliveries] == [("request.transition", request.reference)]
    assert c.get(f"/api/v1/webhooks/{pk}/deliveries/", {"status": "lost"}).status_code == 400
    delivery = WebhookDelivery.objects.get()
    again = c.post(f"/api/v1/webhooks/{pk}/deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 202
    other = as_user(APIClient(), personas["cesrees"])
    assert other.post(f"/api/v1/webhooks/{pk}/deliveries/{delivery.pk}/redeliver/").status_code == 404
