"""The pages' access matrix, run again through the API: no request, attachment, message or task
is reachable by a token that the same user cannot reach in the pages, and each action succeeds
through the API for exactly the personas the back office allows (nothing written otherwise)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access_requests import services
from access_requests.models import AccessRequest, Event, HolderTask
from access_requests.workflow import Route, State
from tests.api.conftest import as_user
from tests.backoffice.test_permissions_matrix import ACTIONS, PERSONAS, client_for, dossier  # noqa: F401

SIGNED_IN = [who for who in PERSONAS if who != "anonymous"]


def _page_status(client, personas, who: str, request: AccessRequest) -> bool:
    """Whether ``who`` reads the request in the portal or in the back office."""
    c = client_for(client, personas, who)
    portal = c.get(reverse("portal:detail", args=[request.reference])).status_code
    backoffice = c.get(reverse("backoffice:detail", args=[request.reference])).status_code
    return 200 in (portal, backoffice)


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.EXTRACTION])
def test_a_token_reaches_a_request_exactly_when_its_user_does_in_the_pages(client, api, personas, make_request,
                                                                          state):
    request = make_request(state)
    mismatches = []
    for who in SIGNED_IN:
        in_pages = _page_status(client, personas, who, request)
        c = as_user(api, personas[who], "read")
        detail = c.get(f"/api/v1/requests/{request.reference}/").status_code
        listed = request.reference in {r["reference"] for r in c.get("/api/v1/requests/").json()["results"]}
        sub = {c.get(f"/api/v1/requests/{request.reference}/{part}/").status_code
               for part in ("events", "messages", "attachments")}
        if (detail == 200) != in_pages or listed != in_pages or sub != ({200} if in_pages else {404}):
            mismatches.append((who, in_pages, detail, listed, sub))
    assert mismatches == []


def test_attachments_and_notes_reach_the_same_people_as_in_the_pages(client, api, personas, dossier, settings):  # noqa: F811
    request, attachment = dossier
    note = services.post_message(request_id=request.pk, actor=personas["secretariat"], body="Note interne",
                                 internal=True)
    mismatches = []
    for who in SIGNED_IN:
        c = client_for(client, personas, who)
        pages = {c.get(reverse("portal:download", args=[attachment.pk])).status_code,
                 c.get(reverse("backoffice:attachment", args=[attachment.pk])).status_code}
        api_user = as_user(api, personas[who], "read")
        content = api_user.get(f"/api/v1/attachments/{attachment.pk}/content/").status_code
        metadata = api_user.get(f"/api/v1/attachments/{attachment.pk}/").status_code
        if (200 in pages) != (content == 200) or (content == 200) != (metadata == 200):
            mismatches.append((who, pages, content, metadata))
        thread = api_user.get(f"/api/v1/requests/{request.reference}/messages/")
        sees_note = thread.status_code == 200 and note.pk in {m["id"] for m in thread.json()["results"]}
        backoffice_page = c.get(reverse("backoffice:detail", args=[request.reference]))
        note_in_pages = backoffice_page.status_code == 200 and "Note interne" in backoffice_page.content.decode()
        if sees_note != note_in_pages:
            mismatches.append((who, "note", sees_note, note_in_pages))
    assert mismatches == []


def test_a_data_holder_reaches_only_its_own_tasks(api, personas, make_request):
    request = make_request(State.CONTRACTING, other_holders="open")
    holders = set(HolderTask.objects.filter(request=request).values_list("holder__code", flat=True))
    assert {"cnam"} < holders  # several holders: the matrix means something
    seen = {}
    for who in SIGNED_IN:
        c = as_user(api, personas[who], "read")
        seen[who] = {t["holder"] for t in c.get("/api/v1/tasks/").json()["results"]}
        for task in HolderTask.objects.filter(request=request):
            status = c.get(f"/api/v1/tasks/{task.pk}/").status_code
            assert (status == 200) == (task.holder.code in seen[who]), (who, task.holder.code, status)
    assert seen["cnam"] == {"cnam"}
    assert seen["curie"] == set()
    assert seen["outsider"] == set()
    for who in ("secretariat", "platform", "management", "superuser", "applicant", "colleague"):
        assert seen[who] == holders, who


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_action_through_the_api_succeeds_for_the_pages_personas_only(api, personas, make_request, action):
    setup, data, allowed, after = ACTIONS[action]

    def fresh():
        if setup == "mr_submitted":
            return make_request(State.SUBMITTED, codes=("snds",), route=Route.REFERENCE_METHODOLOGY)
        return make_request(setup)

    request = fresh()
    mismatches = []
    for who in SIGNED_IN:
        c = as_user(api, personas[who], "write")
        before = AccessRequest.objects.get(pk=request.pk)
        events = Event.objects.filter(request=request).count()
        etag = c.get(f"/api/v1/requests/{request.reference}/")
        if etag.status_code != 200:
            etag_value = '"none"'
        else:
            etag_value = etag["ETag"]
        response = c.post(f"/api/v1/requests/{request.reference}/transitions/", {"name": action, **data},
                          format="json", HTTP_IF_MATCH=etag_value)
        now = AccessRequest.objects.get(pk=request.pk)
        if who in allowed or (who in {"applicant", "colleague"} and action == "withdraw"):
            ok = response.status_code == 200 and now.state == (State.WITHDRAWN if action == "withdraw" else after)
            if not ok:
                mismatches.append((who, "should succeed", response.status_code, now.state))
            request = fresh()
        else:
            refused = (response.status_code in (403, 404, 409) and now.state == before.state
                       and Event.objects.filter(request=request).count() == events
                       and now.updated_at == before.updated_at
                       and response["Content-Type"] == "application/problem+json")
            if not refused:
                mismatches.append((who, "should be refused", response.status_code, now.state))
    assert mismatches == []


# A draft is the applicant team's alone (no one else reads it, not even an administrator); once
# submitted, an administrator may act in every role, the applicant's included (access_requests.roles).
@pytest.mark.parametrize(("name", "state", "fields", "allowed"), [
    ("submit", State.DRAFT, {"certify": True}, {"applicant", "colleague"}),
    ("answer_information", State.AWAITING_APPLICANT, {"answer": "Voici le protocole."},
     {"applicant", "colleague", "superuser"}),
])
def test_the_applicants_actions_are_the_applicants_team_only(api, personas, make_request, name, state, fields,
                                                              allowed):
    request = make_request(state)
    mismatches = []
    for who in SIGNED_IN:
        c = as_user(api, personas[who], "write")
        before = AccessRequest.objects.get(pk=request.pk)
        response = c.post(f"/api/v1/requests/{request.reference}/transitions/", {"name": name, **fields},
                          format="json", HTTP_IF_MATCH="*")
        now = AccessRequest.objects.get(pk=request.pk)
        if who in allowed:
            if response.status_code != 200 or now.state == before.state:
                mismatches.append((who, "should succeed", response.status_code))
            request = make_request(state)
        elif response.status_code not in (403, 404) or now.state != before.state:
            mismatches.append((who, "should be refused", response.status_code))
    assert mismatches == []
