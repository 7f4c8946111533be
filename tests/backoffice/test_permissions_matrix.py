"""Every role against every back-office page and action.

Pages: anonymous users go to the login page, applicants get 403, a data holder's staff only see
the requests asking for their datasets (404 otherwise), management and reviewers read everything.
Actions: each succeeds for exactly the roles the workflow gives it, and is refused with nothing
written for everyone else.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from access_requests import services
from access_requests.models import AccessRequest, Event, Follow, Message
from access_requests.workflow import Route, State
from tests.backoffice.helpers import backoffice_settings  # noqa: F401  (autouse)
from tests.conftest import datasets, with_form_token

PERSONAS = ["anonymous", "applicant", "colleague", "outsider", "secretariat", "cesrees", "cnil", "cnam", "curie",
            "platform", "management", "superuser"]
READERS = {"secretariat", "cesrees", "cnil", "cnam", "platform", "management", "superuser"}


def client_for(client, personas, who):
    client.logout()
    if who != "anonymous":
        client.force_login(personas[who])
    return client


@pytest.fixture
def dossier(personas, settings, tmp_path):
    """A submitted SNDS + OSCOUR request (CNAM is concerned, Curie is not) with one attachment."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    applicant = personas["applicant"]
    draft = services.create_draft(actor=applicant, title="Parcours de soins après un AVC",
                                  datasets=datasets("snds", "oscour"))
    attachment = services.add_attachment(
        request_id=draft.pk, actor=applicant, kind="protocol",
        uploaded=SimpleUploadedFile("protocole.pdf", b"%PDF-1.4\n% protocole\n", content_type="application/pdf"))
    request = services.submit(request_id=draft.pk, actor=applicant)
    return request, attachment


PAGES = {
    "queue": lambda r, a: reverse("backoffice:queue"),
    "export": lambda r, a: reverse("backoffice:export"),
    "export_xlsx": lambda r, a: reverse("backoffice:export_xlsx"),
    "detail": lambda r, a: reverse("backoffice:detail", args=[r.reference]),
    "attachment": lambda r, a: reverse("backoffice:attachment", args=[a.pk]),
    "delays": lambda r, a: reverse("backoffice:delays"),
    "delays_csv": lambda r, a: reverse("backoffice:delays_csv"),
    "delays_xlsx": lambda r, a: reverse("backoffice:delays_xlsx"),
    "delays_json": lambda r, a: reverse("backoffice:delays_json"),
    "saved_filters": lambda r, a: reverse("backoffice:saved_filters"),
}
SCOPED_PAGES = {"detail", "attachment"}  # about one request: the CNAM sees it, Curie does not


def expected_page_status(who: str, page: str) -> int:
    if who == "anonymous":
        return 302
    if who in {"applicant", "colleague", "outsider"}:
        return 403
    if who == "curie":
        return 404 if page in SCOPED_PAGES else 200
    return 200


def test_every_role_against_every_back_office_page(client, personas, dossier):
    request, attachment = dossier
    mismatches = []
    for who in PERSONAS:
        c = client_for(client, personas, who)
        for page, url in PAGES.items():
            response = c.get(url(request, attachment))
            expected = expected_page_status(who, page)
            if response.status_code != expected:
                mismatches.append((who, page, response.status_code, expected))
            if who == "anonymous":
                assert response["Location"].startswith("/accounts/login/?next=")
    assert mismatches == []


def test_an_applicant_who_opens_the_back_office_gets_403_with_an_explanation(client, personas):
    client.force_login(personas["applicant"])
    response = client.get("/backoffice/")
    assert response.status_code == 403
    assert "réservée aux équipes" in response.content.decode()


def test_an_anonymous_user_is_sent_to_the_login_page_and_back(client, db):
    response = client.get("/backoffice/delays/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/backoffice/delays/"


# --- actions ------------------------------------------------------------------------------------
# action -> (how to reach the state, POST data, the personas allowed, the state after success)
ACTIONS = {
    "forward_to_cesrees": (State.SUBMITTED, {}, {"secretariat", "superuser"}, State.CESREES_REVIEW),
    "approve_without_review": ("mr_submitted", {}, {"secretariat", "superuser"}, State.CONTRACTING),
    "request_information": (State.SUBMITTED, {"question": "Protocole ?", "reason": "incomplete"}, {"secretariat", "superuser"},
                            State.AWAITING_APPLICANT),
    "reject": (State.SUBMITTED, {"reason": "Hors champ"}, {"secretariat", "superuser"}, State.REJECTED),
    "withdraw": (State.CESREES_REVIEW, {"reason": "Demande écrite du porteur"}, {"secretariat", "superuser"},
                 State.WITHDRAWN),
    "record_cesrees_opinion": (State.CESREES_REVIEW, {"opinion": "favourable"}, {"cesrees", "superuser"},
                               State.CNIL_REVIEW),
    "extend_review": (State.CNIL_REVIEW, {"comment": "Audition"}, {"cnil", "superuser"}, State.CNIL_REVIEW),
    "record_cnil_decision": (State.CNIL_REVIEW, {"decision": "authorised", "decision_number": "DR-1",
                                                 "decision_date": "2026-01-15"}, {"cnil", "superuser"},
                             State.CONTRACTING),
    "record_contract_signed": (State.CONTRACTING, {}, {"cnam", "secretariat", "superuser"}, State.MATCHING),
    "record_matching_done": (State.MATCHING, {}, {"cnam", "superuser"}, State.EXTRACTION),
    "deliver": (State.EXTRACTION, {}, {"cnam", "platform", "superuser"}, State.DELIVERED),
    "close": (State.DELIVERED, {}, {"platform", "secretariat", "superuser"}, State.CLOSED),
}


def expected_refusal(who: str) -> int:
    if who == "anonymous":
        return 302
    if who in {"applicant", "colleague", "outsider"}:
        return 403
    if who == "curie":
        return 404
    return 403  # a reviewer of another stage, or management (read only)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_action_succeeds_for_its_roles_only_and_writes_nothing_otherwise(client, personas, make_request,
                                                                              action):
    setup, data, allowed, after = ACTIONS[action]

    def fresh():
        if setup == "mr_submitted":
            return make_request(State.SUBMITTED, codes=("snds",), route=Route.REFERENCE_METHODOLOGY)
        return make_request(setup)

    request = fresh()
    mismatches = []
    for who in PERSONAS:
        c = client_for(client, personas, who)
        events = Event.objects.filter(request=request).count()
        before = AccessRequest.objects.get(pk=request.pk)
        response = c.post(reverse("backoffice:act", args=[request.reference, action]),
                          with_form_token(c, {"expected_state": before.state, **data}))
        now = AccessRequest.objects.get(pk=request.pk)
        if who in allowed:
            ok = response.status_code == 303 and now.state == after and Event.objects.filter(
                request=request).count() == events + 1
            if not ok:
                mismatches.append((who, "should succeed", response.status_code, now.state))
            request = fresh()
        else:
            refused = (response.status_code == expected_refusal(who) and now.state == before.state
                       and Event.objects.filter(request=request).count() == events
                       and now.updated_at == before.updated_at)
            if not refused:
                mismatches.append((who, "should be refused", response.status_code, now.state))
    assert mismatches == []


@pytest.mark.parametrize("page", ["post_message", "assign"])
def test_notes_and_assignment_are_for_reviewers_of_the_request_not_for_management(client, personas, make_request,
                                                                                  page):
    request = make_request(State.EXTRACTION)
    mismatches = []
    for who in PERSONAS:
        c = client_for(client, personas, who)
        notes = Message.objects.count()
        data = {"body": f"Note de {who}", "internal": "on"} if page == "post_message" else {"assignee": ""}
        if page == "assign":
            services.assign(request_id=request.pk, actor=personas["platform"], assignee=personas["platform"])
        response = c.post(reverse(f"backoffice:{page}", args=[request.reference]), with_form_token(c, data))
        assigned = AccessRequest.objects.get(pk=request.pk).assignee_id
        if who in READERS - {"management"}:
            ok = response.status_code == 303 and (
                Message.objects.count() == notes + 1 if page == "post_message" else assigned is None)
        else:
            expected = expected_refusal(who)
            ok = response.status_code == expected and (
                Message.objects.count() == notes if page == "post_message" else assigned == personas["platform"].pk)
        if not ok:
            mismatches.append((who, response.status_code))
    assert mismatches == []


def test_following_is_for_reviewers_of_the_request_not_for_management(client, personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    mismatches = []
    for who in PERSONAS:
        c = client_for(client, personas, who)
        response = c.post(reverse("backoffice:follow", args=[request.reference]), with_form_token(c))
        follows = Follow.objects.filter(request=request, user__username=getattr(personas.get(who), "username", ""))
        if who in READERS - {"management"}:
            ok = response.status_code == 303 and follows.count() == 1
        else:
            ok = response.status_code == expected_refusal(who) and not follows.exists()
        if not ok:
            mismatches.append((who, response.status_code))
    assert mismatches == []


def test_the_page_offers_exactly_the_actions_of_the_users_role(client, personas, make_request):
    offered = {}
    request = make_request(State.CESREES_REVIEW)
    for who in ("secretariat", "cesrees", "cnil", "cnam", "platform", "management", "superuser"):
        client_for(client, personas, who)
        html = client.get(reverse("backoffice:detail", args=[request.reference])).content.decode()
        offered[who] = {name for name in ACTIONS if f"/act/{name}/" in html}
    assert offered == {
        "secretariat": {"withdraw"},
        "cesrees": {"record_cesrees_opinion", "extend_review", "request_information"},
        "cnil": set(), "cnam": set(), "platform": set(), "management": set(),
        "superuser": {"record_cesrees_opinion", "extend_review", "request_information", "withdraw"},
    }


def test_decision_dates_are_checked_before_the_service_is_called(client, personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    client.force_login(personas["cnil"])
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    response = client.post(reverse("backoffice:act", args=[request.reference, "record_cnil_decision"]),
                           with_form_token(client, {"expected_state": State.CNIL_REVIEW, "decision": "authorised",
                                                    "decision_number": "DR-9", "decision_date": tomorrow}))
    assert response.status_code == 400
    assert "ne peut pas être dans le futur" in response.content.decode()
    assert AccessRequest.objects.get(pk=request.pk).state == State.CNIL_REVIEW
