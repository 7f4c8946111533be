"""Who hears of what: a subscription receives only the requests its owner may read, and only what
they read there (notifications.webhooks.events); the payloads hold no text and no one's address."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from access_requests import services
from access_requests.models import HolderTask
from access_requests.workflow import State
from notifications.models import WebhookDelivery, WebhookEvent
from notifications.webhooks import services as webhooks

pytestmark = pytest.mark.django_db
SUBSCRIBERS = ("applicant", "colleague", "outsider", "secretariat", "cnam", "curie", "management", "superuser")
SECRET = "Le patient 42 présente une comorbidité"  # a message's text: in no payload


@pytest.fixture
def subscribed(personas, receiver):
    """Every persona of SUBSCRIBERS subscribed to every event (nothing posted: no commit here)."""
    def subscribe(*names, events=tuple(WebhookEvent.values)):
        for name in names or SUBSCRIBERS:
            webhooks.create_subscription(owner=personas[name], url=receiver.url(), events=list(events),
                                         actor=personas[name])
    return subscribe


def heard(personas) -> dict[str, list[dict]]:
    """Each subscriber's payloads, oldest first."""
    rows = WebhookDelivery.objects.select_related("subscription__owner").order_by("pk")
    by_name = {user.pk: name for name, user in personas.items()}
    result: dict[str, list[dict]] = {name: [] for name in SUBSCRIBERS}
    for row in rows:
        result[by_name[row.subscription.owner_id]].append(json.loads(row.body))
    return result


def kinds(payloads: list[dict]) -> list[tuple]:
    return [(p["type"], p["data"].get("action") or p["data"].get("kind"), p["data"].get("holder")) for p in payloads]


def test_a_transition_reaches_the_applicants_team_and_the_reviewers_who_read_the_request(
        make_request, personas, subscribed):
    request = make_request(State.SUBMITTED, codes=("snds", "oscour"))  # the CNAM's and Santé publique France's
    subscribed()

    services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])

    got = heard(personas)
    told = {name for name, payloads in got.items() if payloads}
    # Not the other organisation, nor a data holder whose datasets are not asked for.
    assert told == {"applicant", "colleague", "secretariat", "cnam", "management", "superuser"}
    for name in told:
        assert kinds(got[name]) == [("request.transition", "forward_to_cesrees", None)]


def test_an_assignment_reaches_the_reviewers_but_never_the_applicants_side(make_request, personas, subscribed):
    request = make_request(State.SUBMITTED)
    subscribed()

    services.assign(request_id=request.pk, actor=personas["secretariat"], assignee=personas["secretariat"])

    told = {name for name, payloads in heard(personas).items() if payloads}
    assert told == {"secretariat", "cnam", "management", "superuser"}


def test_the_applicants_side_never_hears_of_an_internal_note_and_no_payload_holds_a_text(
        make_request, personas, subscribed):
    request = make_request(State.SUBMITTED, codes=("snds",))
    subscribed()

    services.post_message(request_id=request.pk, actor=personas["secretariat"], body=SECRET, internal=True)
    services.post_message(request_id=request.pk, actor=personas["secretariat"], body=SECRET)
    services.post_message(request_id=request.pk, actor=personas["applicant"], body=SECRET)

    got = heard(personas)
    for name in ("secretariat", "cnam", "management", "superuser"):
        assert [(p["data"]["role"], p["data"]["internal"]) for p in got[name]] == [
            ("secretariat", True), ("secretariat", False), ("applicant", False)]
    for name in ("applicant", "colleague"):
        assert [(p["data"]["role"], p["data"]["internal"]) for p in got[name]] == [
            ("secretariat", False), ("applicant", False)]
    assert got["outsider"] == got["curie"] == []
    payload = got["secretariat"][0]
    assert payload["type"] == "request.message"
    assert set(payload["data"]) == {"reference", "message_id", "kind", "role", "internal", "attachments", "at"}
    bodies = list(WebhookDelivery.objects.values_list("body", flat=True))
    assert all(SECRET not in body and "patient" not in body and "@" not in body for body in bodies)


def test_a_data_holders_staff_hear_of_their_own_holders_task_only(make_request, personas, subscribed):
    request = make_request(State.CONTRACTING, codes=("snds", "oscour"), other_holders="open")
    tasks = {t.holder.code: t for t in HolderTask.objects.filter(request=request).select_related("holder")}
    subscribed()

    services.record_task_contract_signed(task_id=tasks["cnam"].pk, actor=personas["cnam"])
    services.set_task_due_date(task_id=tasks["spf"].pk, actor=personas["secretariat"], due_date=dt.date(2030, 6, 1))
    services.assign_task(task_id=tasks["cnam"].pk, actor=personas["secretariat"], assignee=personas["cnam"])

    got = heard(personas)
    everything = [("task.changed", "start_matching", "cnam"), ("task.changed", "set_due_date", "spf"),
                  ("task.changed", "assign", "cnam")]
    for name in ("secretariat", "management", "superuser"):
        assert kinds(got[name]) == everything
    assert kinds(got["cnam"]) == [everything[0], everything[2]]  # not Santé publique France's task
    # The applicant's side reads each holder's step and due date on the portal, never its assignee.
    assert kinds(got["applicant"]) == kinds(got["colleague"]) == everything[:2]
    assert got["outsider"] == got["curie"] == []
    data = got["secretariat"][1]["data"]
    assert (data["reference"], data["holder"], data["state"], data["due_date"]) == (
        request.reference, "spf", "contracting", "2030-06-01")
    assert request.state == State.CONTRACTING  # the CNAM's task moved alone: no transition of the request
    assert not WebhookDelivery.objects.filter(event_type=WebhookEvent.TRANSITION).exists()


def test_each_subscription_hears_only_of_the_events_it_chose_and_nothing_once_disabled_or_its_owner_gone(
        make_request, personas, subscribed):
    request = make_request(State.SUBMITTED)
    subscribed("applicant", events=[WebhookEvent.MESSAGE])
    subscribed("secretariat", "cesrees")
    secretariat = personas["secretariat"]
    webhooks.disable_subscription(subscription_id=secretariat.webhook_subscriptions.get().pk, actor=secretariat)
    personas["cesrees"].is_active = False
    personas["cesrees"].save()

    services.forward_to_cesrees(request_id=request.pk, actor=secretariat)
    assert not WebhookDelivery.objects.exists()
    services.post_message(request_id=request.pk, actor=secretariat, body=SECRET)

    assert [(row.subscription.owner, row.event_type) for row in WebhookDelivery.objects.all()] == [
        (personas["applicant"], WebhookEvent.MESSAGE)]
