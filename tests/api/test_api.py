"""The API's contract: tokens and scopes, ETags and preconditions, problem details, pagination,
filters, rate limits, messages, documents, tasks and delay figures."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from access_requests import services
from access_requests.models import AccessRequest, HolderTask, Message
from access_requests.workflow import HolderTaskState, State
from accounts import services as account_services
from accounts.models import ApiToken
from api.throttling import PerTokenThrottle
from delays.report import build_report
from tests.api.conftest import as_user, token_for
from tests.backoffice.helpers import materialise_all

PROBLEM = "application/problem+json"


def detail_url(request) -> str:
    return f"/api/v1/requests/{request.reference}/"


def transition(client, request, etag: str | None, **body):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return client.post(f"{detail_url(request)}transitions/", body, format="json", **headers)


# --- tokens ----------------------------------------------------------------------------------------
def test_a_token_signs_in_and_is_stored_only_as_a_hash(api, personas, make_request):
    request = make_request(State.SUBMITTED)
    raw = token_for(personas["secretariat"], "read")
    stored = ApiToken.objects.get(user=personas["secretariat"])
    assert raw.startswith(f"hdh_{stored.prefix}_") and raw.split("_", 2)[2] not in stored.digest
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.get("/api/v1/requests/")
    assert response.status_code == 200
    assert [r["reference"] for r in response.json()["results"]] == [request.reference]
    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.parametrize("spoil", ["wrong", "revoked", "expired", "inactive"])
def test_a_bad_token_is_refused_with_401_and_a_problem(api, personas, spoil):
    user = personas["secretariat"]
    token, raw = account_services.create_api_token(actor=user, name="ci", scope="read")
    if spoil == "wrong":
        raw = raw[:-3] + "xyz"
    elif spoil == "revoked":
        account_services.revoke_api_token(actor=user, token_id=token.pk)
    elif spoil == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    else:
        user.is_active = False
        user.save()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.get("/api/v1/requests/")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["type"] == "/api/problems/authentication_failed"


def test_without_credentials_the_api_answers_401(api, db):
    response = api.get("/api/v1/requests/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_read_token_cannot_write_and_nothing_is_written(api, personas, make_request):
    request = make_request(State.SUBMITTED)
    c = as_user(api, personas["secretariat"], "read")
    etag = c.get(detail_url(request))["ETag"]
    response = transition(c, request, etag, name="forward_to_cesrees")
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_token"
    assert AccessRequest.objects.get(pk=request.pk).state == State.SUBMITTED


def test_tokens_are_checked_and_revoked_by_their_owner_only(personas):
    from hdh_access.lib.errors import ActionNotPermitted, InvalidInput, NotFound

    with pytest.raises(InvalidInput):
        account_services.create_api_token(actor=personas["applicant"], name="", scope="read")
    with pytest.raises(InvalidInput):
        account_services.create_api_token(actor=personas["applicant"], name="x", scope="admin")
    with pytest.raises(InvalidInput):
        account_services.create_api_token(actor=personas["applicant"], name="x", scope="read", days=400)
    with pytest.raises(ActionNotPermitted):
        account_services.create_api_token(actor=personas["applicant"], user=personas["colleague"], name="x",
                                          scope="read")
    token, _raw = account_services.create_api_token(actor=personas["applicant"], name="x", scope="read")
    with pytest.raises(NotFound):
        account_services.revoke_api_token(actor=personas["colleague"], token_id=token.pk)
    assert account_services.revoke_api_token(actor=personas["applicant"], token_id=token.pk).revoked_at is not None


def test_the_command_prints_a_working_token(api, personas, make_request):
    request = make_request(State.SUBMITTED)
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", personas["cnam"].email, "--scope", "write", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert "scope write" in err.getvalue()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(detail_url(request)).status_code == 200


def test_the_browser_session_works_and_its_writes_need_the_csrf_token(personas, make_request):
    request = make_request(State.SUBMITTED)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(personas["secretariat"])
    response = browser.get(detail_url(request))
    assert response.status_code == 200
    refused = transition(browser, request, response["ETag"], name="forward_to_cesrees")
    assert refused.status_code == 403
    assert AccessRequest.objects.get(pk=request.pk).state == State.SUBMITTED


# --- ETags and preconditions ---------------------------------------------------------------------
def test_writes_need_the_current_etag(api, personas, make_request):
    request = make_request(State.SUBMITTED)
    c = as_user(api, personas["secretariat"])
    first = c.get(detail_url(request))
    etag = first["ETag"]
    assert c.get(detail_url(request), HTTP_IF_NONE_MATCH=etag).status_code == 304

    missing = transition(c, request, None, name="forward_to_cesrees")
    assert (missing.status_code, missing.json()["code"]) == (428, "precondition_required")
    stale = transition(c, request, '"r1-0"', name="forward_to_cesrees")
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert AccessRequest.objects.get(pk=request.pk).state == State.SUBMITTED

    done = transition(c, request, etag, name="forward_to_cesrees", urgent=True)
    assert done.status_code == 200
    assert done.json()["state"] == State.CESREES_REVIEW
    assert done["ETag"] != etag
    # The same click again, with the ETag it was sent with: stale now, nothing written twice.
    again = transition(c, request, etag, name="forward_to_cesrees", urgent=True)
    assert again.status_code == 412
    assert request.events.filter(action="forward_to_cesrees").count() == 1


def test_a_move_between_the_check_and_the_write_is_a_412_too(api, personas, make_request, monkeypatch):
    request = make_request(State.SUBMITTED)
    c = as_user(api, personas["secretariat"])
    etag = c.get(detail_url(request))["ETag"]
    from api import transitions

    real = transitions.perform

    def racing(**kwargs):  # another reviewer acts on the request just after the If-Match check
        services.reject(request_id=request.pk, actor=personas["secretariat"], reason="Hors champ")
        return real(**kwargs)

    monkeypatch.setattr(transitions, "perform", racing)
    response = transition(c, request, etag, name="forward_to_cesrees")
    assert response.status_code == 412
    assert response.json()["error"] == "concurrent_update"
    assert AccessRequest.objects.get(pk=request.pk).state == State.REJECTED


# --- problem details --------------------------------------------------------------------------------
def test_domain_errors_are_problems_with_a_stable_type(api, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    c = as_user(api, personas["secretariat"])
    response = transition(c, request, "*", name="forward_to_cesrees")
    assert response.status_code in (403, 409)
    body = response.json()
    assert response["Content-Type"] == PROBLEM
    assert body["type"] == f"/api/problems/{body['code']}" and body["status"] == response.status_code
    assert body["title"] and body["detail"]
    described = APIClient().get(body["type"])
    assert described.status_code == 200 and described.json()["status"] == response.status_code


def test_invalid_fields_get_the_pages_messages_per_field(api, personas, make_request):
    request = make_request(State.SUBMITTED)
    c = as_user(api, personas["secretariat"])
    response = transition(c, request, "*", name="reject")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_input" and "reason" in body["errors"]
    unknown = transition(c, request, "*", name="teleport")
    assert unknown.status_code == 400 and "name" in unknown.json()["errors"]
    assert AccessRequest.objects.get(pk=request.pk).state == State.SUBMITTED


def test_an_unknown_request_is_a_404_problem(api, personas):
    response = as_user(api, personas["secretariat"]).get("/api/v1/requests/HDH-1999-9999/")
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM


# --- lists ------------------------------------------------------------------------------------------
def test_lists_are_cursor_paginated_and_filtered(api, personas, make_request):
    made = [make_request(State.SUBMITTED) for _ in range(3)] + [make_request(State.CESREES_REVIEW)]
    c = as_user(api, personas["secretariat"])
    first = c.get("/api/v1/requests/", {"page_size": 2}).json()
    second = c.get(first["next"]).json()
    seen = [r["reference"] for r in first["results"] + second["results"]]
    assert seen == [r.reference for r in reversed(made)]
    submitted = c.get("/api/v1/requests/", {"state": "submitted"}).json()["results"]
    assert {r["reference"] for r in submitted} == {r.reference for r in made[:3]}
    assert c.get("/api/v1/requests/", {"state": "nowhere"}).status_code == 400
    assert c.get("/api/v1/requests/", {"requires_matching": "maybe"}).status_code == 400
    assert len(c.get("/api/v1/requests/", {"dataset": "snds"}).json()["results"]) == 4
    assert c.get("/api/v1/requests/", {"holder": "curie"}).json()["results"] == []


def test_requests_over_the_rate_get_429_with_retry_after(api, personas, monkeypatch):
    monkeypatch.setattr(PerTokenThrottle, "THROTTLE_RATES", {"api": "3/min"})
    cache.clear()
    c = as_user(api, personas["secretariat"], "read")
    statuses = [c.get("/api/v1/catalogue/holders/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = c.get("/api/v1/catalogue/holders/")
    assert int(response["Retry-After"]) > 0 and response.json()["code"] == "throttled"
    # Another token has its own allowance.
    other = as_user(APIClient(), personas["cnam"], "read")
    assert other.get("/api/v1/catalogue/holders/").status_code == 200
    cache.clear()


# --- messages, documents, tasks, figures ---------------------------------------------------------------
def test_messages_keep_internal_notes_on_the_reviewers_side(api, personas, make_request):
    request = make_request(State.SUBMITTED)
    reviewer = as_user(api, personas["secretariat"])
    note = reviewer.post(f"{detail_url(request)}messages/", {"body": "À vérifier", "internal": True},
                         format="json", HTTP_IF_MATCH="*")
    assert note.status_code == 201 and note.json()["internal"] is True
    applicant = as_user(APIClient(), personas["applicant"])
    posted = applicant.post(f"{detail_url(request)}messages/", {"body": "Bonjour"}, format="json", HTTP_IF_MATCH="*")
    assert posted.status_code == 201
    refused = applicant.post(f"{detail_url(request)}messages/", {"body": "Note ?", "internal": True},
                             format="json", HTTP_IF_MATCH="*")
    assert refused.status_code == 403
    assert [m["body"] for m in applicant.get(f"{detail_url(request)}messages/").json()["results"]] == ["Bonjour"]
    assert [m["body"] for m in reviewer.get(f"{detail_url(request)}messages/").json()["results"]] == ["À vérifier", "Bonjour"]
    assert Message.objects.filter(request=request).count() == 2


def test_holder_tasks_move_through_the_api_with_their_etag(api, personas, make_request):
    request = make_request(State.CONTRACTING)
    task = HolderTask.objects.get(request=request, holder__code="cnam")
    c = as_user(api, personas["cnam"])
    shown = c.get(f"/api/v1/tasks/{task.pk}/")
    assert shown.json()["transitions"] == ["record_contract_signed"]
    url = f"/api/v1/tasks/{task.pk}/transitions/"
    assert c.post(url, {"name": "record_contract_signed"}, format="json").status_code == 428
    moved = c.post(url, {"name": "record_contract_signed"}, format="json", HTTP_IF_MATCH=shown["ETag"])
    assert moved.status_code == 200 and moved.json()["state"] == HolderTaskState.MATCHING
    assert c.post(url, {"name": "record_contract_signed"}, format="json",
                  HTTP_IF_MATCH=shown["ETag"]).status_code == 412
    assert AccessRequest.objects.get(pk=request.pk).state == State.MATCHING


def test_delay_figures_are_delay_reports_for_the_back_office_only(api, personas, make_request):
    make_request(State.DELIVERED)
    materialise_all()
    as_of = timezone.now().isoformat()
    figures = as_user(api, personas["management"], "read").get("/api/v1/delays/", {"as_of": as_of})
    assert figures.status_code == 200
    assert figures.json() == build_report(dt.datetime.fromisoformat(as_of))
    assert as_user(APIClient(), personas["applicant"], "read").get("/api/v1/delays/").status_code == 403
    bad = as_user(APIClient(), personas["management"], "read").get("/api/v1/delays/", {"as_of": "soon"})
    assert bad.status_code == 400


def test_the_detail_gives_the_clock_of_the_delays_function(api, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    body = as_user(api, personas["applicant"], "read").get(detail_url(request)).json()
    assert body["clock"]["state"] == State.CESREES_REVIEW
    assert [v["stage"] for v in body["clock"]["visits"]] == ["submitted", "cesrees_review"]
    assert body["transitions"] == ["withdraw"]


def test_the_schema_and_its_documentation_are_served(db):
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")
    assert "/api/v1/requests/{reference}/transitions/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_lists_make_a_constant_number_of_queries(api, personas, make_request):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = as_user(api, personas["secretariat"], "read")
    c.get("/api/v1/catalogue/holders/")  # the token's first use writes its last_used_at, once a minute
    counts = []
    for n in (2, 6):
        while AccessRequest.objects.count() < n:
            make_request(State.CONTRACTING)
        with CaptureQueriesContext(connection) as requests_list:
            assert len(c.get("/api/v1/requests/").json()["results"]) == n
        with CaptureQueriesContext(connection) as tasks_list:
            assert c.get("/api/v1/tasks/").status_code == 200
        counts.append((len(requests_list), len(tasks_list)))
    assert counts[0] == counts[1]


def test_every_read_has_an_etag_and_answers_304_when_unchanged(api, personas, make_request):
    request = make_request(State.SUBMITTED)
    c = as_user(api, personas["secretariat"], "read")
    for path in ("/api/v1/requests/", f"{detail_url(request)}events/", f"{detail_url(request)}messages/",
                 f"{detail_url(request)}attachments/", "/api/v1/catalogue/datasets/", "/api/v1/tasks/"):
        first = c.get(path)
        assert first.status_code == 200 and first["ETag"], path
        assert c.get(path, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304, path
    before = c.get(f"{detail_url(request)}events/")["ETag"]
    services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])
    assert c.get(f"{detail_url(request)}events/", HTTP_IF_NONE_MATCH=before).status_code == 200


def test_a_requests_log_thread_and_catalogue_are_paginated_in_their_order(api, personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    c = as_user(api, personas["secretariat"], "read")
    first = c.get(f"{detail_url(request)}events/", {"page_size": 2}).json()
    rest = c.get(first["next"]).json()
    actions = [e["action"] for e in first["results"] + rest["results"]]
    assert actions == ["create", "submit", "forward_to_cesrees", "record_cesrees_opinion"]
    codes = [d["code"] for d in c.get("/api/v1/catalogue/datasets/", {"page_size": 200}).json()["results"]]
    assert codes == sorted(codes) and "snds" in codes
