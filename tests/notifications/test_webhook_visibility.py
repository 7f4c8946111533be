"""Who hears of what: a subscription receives only the requests its owner may read, and only what
they read there (notifications.webhooks.events); the payloads hold no text and no one's address."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from access_requests import services
from access_requests.models import AccessRequest, Event, HolderTask
from access_requests.signals import request_changed
from access_requests.visibility import APPLICANT, REVIEWER
from access_requests.workflow import EventAction, Role, State
from documents.timeline import BACKOFFICE_ONLY_ACTIONS
from notifications.models import WebhookDelivery, WebhookEvent
from notifications.webhooks import events as webhook_events
from notifications.webhooks import services as webhooks
from tests.api.conftest import as_user

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


# --- one rule for every channel: the webhooks, the API and the pages read a request from the same side ---
EVERYONE = ("applicant", "colleague", "outsider", "secretariat", "cesrees", "cnil", "platform", "cnam", "curie",
            "management", "superuser", "cnam_in_organisation")
READ_EVERY_REQUEST = {"secretariat", "cesrees", "cnil", "platform", "management", "superuser"}
MATRIX_STATES = (State.DRAFT, State.WITHDRAWN, State.SUBMITTED, State.CESREES_REVIEW, State.CONTRACTING)


def expected_side(who: str, state: str) -> str | None:
    """The requests are the applicant's, for the SNDS (the CNAM's) and OSCOUR (Santé publique France's).
    An expert reads through an invitation link, with no account: no subscription, not a persona here."""
    if who in {"applicant", "colleague"} or (who == "cnam_in_organisation" and state == State.DRAFT):
        return APPLICANT
    if state == State.DRAFT:
        return None  # a draft is the applicant's team's alone, whoever else may read every request
    if who in READ_EVERY_REQUEST or who in {"cnam", "cnam_in_organisation"}:
        return REVIEWER
    return None


@pytest.fixture
def everyone(personas, organisation):
    """The personas, and a CNAM staff member who is also in the applicant's organisation (both sides)."""
    from catalog.models import DataHolder
    from tests.conftest import make_user

    both = make_user("cnam-inserm@cnam.example", role=Role.DATA_HOLDER, organisation=organisation,
                     data_holder=DataHolder.objects.get(code="cnam"))
    return {**personas, "cnam_in_organisation": both}


def _told(everyone) -> dict[str, list[dict]]:
    by_owner = {user.pk: name for name, user in everyone.items()}
    told: dict[str, list[dict]] = {name: [] for name in EVERYONE}
    for row in WebhookDelivery.objects.select_related("subscription").order_by("pk"):
        told[by_owner[row.subscription.owner_id]].append(json.loads(row.body))
    return told


def _page_side(client, user, request) -> str | None:
    client.force_login(user)
    backoffice = client.get(reverse("backoffice:detail", args=[request.reference])).status_code
    portal = client.get(reverse("portal:detail", args=[request.reference])).status_code
    client.logout()
    assert backoffice in {200, 403, 404} and portal in {200, 404}, (backoffice, portal)
    return REVIEWER if backoffice == 200 else APPLICANT if portal == 200 else None


def _api_side(user, request, note) -> tuple[str | None, set[str]]:
    """The side the API reads the request from (the list's membership; the reviewers' side reads
    the internal ``note``) and the holders of the request's tasks it lists."""
    api = as_user(APIClient(), user, "read")
    listed = request.reference in {r["reference"] for r in api.get("/api/v1/requests/").json()["results"]}
    tasks = {t["holder"] for t in api.get("/api/v1/tasks/").json()["results"] if t["request"] == request.reference}
    if not listed:
        return None, tasks
    thread = api.get(f"/api/v1/requests/{request.reference}/messages/").json()["results"]
    return (REVIEWER if note is not None and note.pk in {m["id"] for m in thread} else APPLICANT), tasks


@pytest.mark.parametrize("state", MATRIX_STATES)
def test_a_subscription_reads_each_request_from_the_side_the_pages_and_the_api_show(
        client, make_request, everyone, receiver, state):
    request = make_request(state, other_holders="open")  # contracting: the CNAM's and Santé publique France's tasks
    secretariat = everyone["secretariat"]
    note = (None if state == State.DRAFT  # a draft has no thread
            else services.post_message(request_id=request.pk, actor=secretariat, body=SECRET, internal=True))
    for name in EVERYONE:
        webhooks.create_subscription(owner=everyone[name], url=receiver.url(), events=list(WebhookEvent.values),
                                     actor=everyone[name])
    request = AccessRequest.objects.get(pk=request.pk)
    # What the receivers tell the webhooks of an event of its log that the applicant's history shows (no
    # service announces one of a draft: the webhooks are asked directly), then of one it does not show.
    shown = Event.objects.filter(request=request).exclude(action__in=BACKOFFICE_ONLY_ACTIONS).latest("pk")
    webhook_events.on_request_event(request=request, event=shown)
    services.assign(request_id=request.pk, actor=secretariat, assignee=secretariat)
    tasks = list(HolderTask.objects.filter(request=request).select_related("holder").order_by("pk"))
    assert (state == State.CONTRACTING) == (len(tasks) > 1)
    for task in tasks:
        webhook_events.on_task_event(task=task, event=task.events.earliest("pk"))

    mismatches = []
    for name, payloads in _told(everyone).items():
        actions = {p["data"]["action"] for p in payloads if p["type"] == WebhookEvent.TRANSITION}
        assert actions <= {shown.action, EventAction.ASSIGN}
        by_webhook = REVIEWER if EventAction.ASSIGN in actions else APPLICANT if actions else None
        heard_tasks = {p["data"]["holder"] for p in payloads if p["type"] == WebhookEvent.TASK}
        by_api, api_tasks = _api_side(everyone[name], request, note)
        in_pages = _page_side(client, everyone[name], request)
        expected = expected_side(name, state)
        if not (by_webhook == by_api == in_pages == expected) or heard_tasks != api_tasks:
            mismatches.append((name, expected, by_webhook, by_api, in_pages, heard_tasks, api_tasks))
    assert mismatches == []
    if state == State.CONTRACTING:
        told = {name: {p["data"]["holder"] for p in payloads if p["type"] == WebhookEvent.TASK}
                for name, payloads in _told(everyone).items()}
        # A holder's staff read their own holder's task; the applicant's team (a CNAM member among
        # them) every task of their request.
        assert told["cnam"] == {"cnam"} and told["curie"] == set()
        assert told["applicant"] == told["cnam_in_organisation"] == told["secretariat"] == {"cnam", "spf"}


def test_a_superusers_subscription_hears_nothing_of_someone_elses_draft(make_request, personas, subscribed):
    """The back office, the portal and the API show a superuser no one else's draft: neither do the
    webhooks (they once read the superuser as of every applicant's team)."""
    draft = make_request(State.DRAFT)
    subscribed("applicant", "superuser", events=[WebhookEvent.TRANSITION])
    created = Event.objects.get(request=draft)

    # Sent as a service sends it inside its transaction (no service announces a draft's own event today).
    request_changed.send(sender=AccessRequest, request=draft, event=created)

    got = heard(personas)
    assert got["superuser"] == []
    assert kinds(got["applicant"]) == [("request.transition", "create", None)]


def test_an_event_costs_a_few_queries_per_subscriber_whatever_their_subscriptions(
        make_request, personas, receiver, django_assert_max_num_queries):
    request = make_request(State.SUBMITTED)
    for name in SUBSCRIBERS:
        for _ in range(3):
            webhooks.create_subscription(owner=personas[name], url=receiver.url(), events=[WebhookEvent.TRANSITION],
                                         actor=personas[name])
    event = Event.objects.filter(request=request).latest("pk")

    # The subscriptions, and per owner: their side (one query) and, but for a superuser, their
    # permissions (two); then the deliveries' insert.
    with django_assert_max_num_queries(2 + 3 * len(SUBSCRIBERS)):
        deliveries = webhook_events.on_request_event(request=request, event=event)
    assert len(deliveries) == 3 * 6  # not the outsider's, nor Curie's
