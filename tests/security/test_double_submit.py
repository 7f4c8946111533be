"""Double submit (issue #13): a form posted twice acts once (access_requests.form_tokens).

Each form that writes carries a one-time token; the first post claims it in the transaction of
its writes and records its redirect; a second post of the same token answers that redirect again
and writes nothing. A form error or a refused write leaves the token usable. A missing, forged,
expired token, or one issued to another user, is a clear 400.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access_requests import services
from access_requests.form_tokens import FIELD_NAME, issue_token
from access_requests.models import AccessRequest, Event, FormSubmission, Message
from access_requests.workflow import State
from catalog.models import Dataset
from hdh_access.celery import app
from tests.concurrency import post_in_thread, second_waits_on_the_first
from tests.conftest import complete_dossier

TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([^"]+)">')
POST_FORM = re.compile(r'<form method="post"([^>]*)>(.*?)</form>', re.S)
ACTION = re.compile(r'action="([^"]+)"')
EXPIRED = "Ce formulaire a expiré, rechargez la page."
ALREADY_SENT = "Ce formulaire avait déjà été envoyé : il n&#x27;a été pris en compte qu&#x27;une fois."


def draft_data(**overrides) -> dict:
    data = {"title": "Cohorte AVC", "summary": "Cohorte nationale.", "route": "standard",
            "datasets": [str(Dataset.objects.get(code="snds").pk)]}
    return {**data, **overrides}


def form_claims():
    """The claims of the forms' own tokens: a new-request post also claims the draft of its page,
    ``created:<nonce>``, which its autosave may have made first (portal/autosave.py)."""
    return FormSubmission.objects.exclude(token__startswith="created:")


def posted_forms(client, page_url: str) -> list[tuple[str, str]]:
    """(where it posts, its content) of each POST form of the page."""
    forms = []
    for attributes, body in POST_FORM.findall(client.get(page_url).content.decode()):
        action = ACTION.search(attributes)
        forms.append((action.group(1) if action else page_url, body))
    return forms


def token_of(client, page_url: str, action_url: str | None = None) -> str:
    """The token in the page's form that posts to ``action_url`` (default: to the page itself)."""
    bodies = [body for action, body in posted_forms(client, page_url) if action == (action_url or page_url)]
    assert len(bodies) == 1
    return TOKEN.search(bodies[0]).group(1)


# --- sequential posts ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_new_request_form_posted_twice_creates_one_draft_and_answers_the_same_redirect(client, applicant):
    client.force_login(applicant)
    data = {**draft_data(), FIELD_NAME: token_of(client, reverse("portal:create"))}

    first = client.post(reverse("portal:create"), data)
    second = client.post(reverse("portal:create"), data)

    draft = AccessRequest.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("portal:detail", args=[draft.reference]) + "#pieces"
    assert Event.objects.filter(request=draft).count() == 1
    page = client.get(second["Location"])
    assert page.status_code == 200 and ALREADY_SENT in page.content.decode()
    assert form_claims().get().result_url == first["Location"]


@pytest.mark.django_db
def test_a_form_error_does_not_consume_the_token(client, applicant):
    client.force_login(applicant)
    token = token_of(client, reverse("portal:create"))

    refused = client.post(reverse("portal:create"), {**draft_data(title=""), FIELD_NAME: token})
    assert refused.status_code == 400 and not AccessRequest.objects.exists()
    assert not FormSubmission.objects.exists()

    corrected = client.post(reverse("portal:create"), {**draft_data(), FIELD_NAME: token})
    again = client.post(reverse("portal:create"), {**draft_data(), FIELD_NAME: token})
    assert corrected.status_code == again.status_code == 302 and corrected["Location"] == again["Location"]
    assert AccessRequest.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_write_shows_the_error_page_and_does_not_consume_the_token(
        client, applicant, make_request, production_completeness):
    draft = make_request(State.DRAFT)
    complete_dossier(draft, applicant)
    client.force_login(applicant)
    submit = reverse("portal:submit", args=[draft.reference])
    data = {"expected_state": "draft", "certify": "on",
            FIELD_NAME: token_of(client, reverse("portal:detail", args=[draft.reference]), submit)}
    protocol = draft.attachments.get(kind="protocol")
    services.remove_attachment(attachment_id=protocol.pk, actor=applicant)  # from another tab

    refused = client.post(submit, data)  # the dossier is incomplete: a DomainError, shown by the middleware
    assert refused.status_code == 400 and "<li>Joignez le protocole" in refused.content.decode()
    assert not FormSubmission.objects.exists()

    complete_dossier(draft, applicant)
    accepted = client.post(submit, data)
    assert accepted.status_code == 302
    assert AccessRequest.objects.get(pk=draft.pk).state == State.SUBMITTED


@pytest.mark.django_db
def test_a_backoffice_transition_posted_twice_writes_one_event(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    detail = reverse("backoffice:detail", args=[request.reference])
    forward = reverse("backoffice:act", args=[request.reference, "forward_to_cesrees"])
    data = {"expected_state": State.SUBMITTED, "comment": "Dossier complet.", FIELD_NAME: token_of(client, detail, forward)}

    first = client.post(forward, data)
    second = client.post(forward, data)

    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"] == detail
    assert Event.objects.filter(request=request, action="forward_to_cesrees").count() == 1
    assert AccessRequest.objects.get(pk=request.pk).state == State.CESREES_REVIEW
    page = client.get(detail).content.decode()
    assert ALREADY_SENT in page and "passage impossible" not in page


@pytest.mark.django_db
def test_a_note_posted_twice_is_kept_once(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["cesrees"])
    notes = reverse("backoffice:post_message", args=[request.reference])
    data = {"body": "Rapporteur : Pr Morel.", "internal": "on",
            FIELD_NAME: token_of(client, reverse("backoffice:detail", args=[request.reference]), notes)}
    assert [client.post(notes, data).status_code for _ in range(2)] == [303, 303]
    assert Message.objects.filter(request=request, internal=True).count() == 1


# --- refused tokens ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_token_of_another_user_is_refused_and_writes_nothing(client, applicant, colleague):
    client.force_login(applicant)
    response = client.post(reverse("portal:create"), {**draft_data(), FIELD_NAME: issue_token(colleague)})
    html = response.content.decode()
    assert response.status_code == 400
    assert EXPIRED in html and "Cohorte nationale." in html  # what the user typed is on the page to copy
    assert not AccessRequest.objects.exists() and not FormSubmission.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", "forged", "1:abc:forged-signature"])
def test_a_missing_or_forged_token_is_a_clear_400_and_writes_nothing(client, applicant, token):
    client.force_login(applicant)
    data = draft_data() if token == "" else {**draft_data(), FIELD_NAME: token}
    response = client.post(reverse("portal:create"), data)
    assert response.status_code == 400 and EXPIRED in response.content.decode()
    assert not AccessRequest.objects.exists()


@pytest.mark.django_db
def test_a_token_with_another_users_id_and_a_forged_signature_is_refused(client, applicant):
    client.force_login(applicant)
    genuine = issue_token(applicant)
    _user, rest = genuine.split(":", 1)
    response = client.post(reverse("portal:create"), {**draft_data(), FIELD_NAME: f"{applicant.pk + 1}:{rest}"})
    assert response.status_code == 400 and not AccessRequest.objects.exists()


@pytest.mark.django_db
def test_an_api_client_gets_the_refusal_as_json(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    response = client.post(reverse("backoffice:act", args=[request.reference, "forward_to_cesrees"]),
                           {"expected_state": State.SUBMITTED}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "expired_form", "message": EXPIRED}
    assert AccessRequest.objects.get(pk=request.pk).state == State.SUBMITTED


@pytest.mark.django_db
def test_a_token_older_than_a_day_is_refused(client, applicant, settings):
    assert settings.HDH_FORM_TOKEN_HOURS == 24
    client.force_login(applicant)
    rendered = timezone.now()
    with time_machine.travel(rendered, tick=False):
        token = issue_token(applicant)
    with time_machine.travel(rendered + dt.timedelta(hours=23), tick=False):
        assert client.post(reverse("portal:create"), {**draft_data(title="A"), FIELD_NAME: token}).status_code == 302
    token = issue_token(applicant)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=24, seconds=1), tick=False):
        response = client.post(reverse("portal:create"), {**draft_data(title="B"), FIELD_NAME: token})
    assert response.status_code == 400 and EXPIRED in response.content.decode()
    assert list(AccessRequest.objects.values_list("title", flat=True)) == ["A"]


@pytest.mark.django_db
def test_anonymous_posts_still_go_to_the_login_page(client, make_request):
    request = make_request(State.SUBMITTED)
    response = client.post(reverse("portal:create"), draft_data())
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(reverse("backoffice:act", args=[request.reference, "forward_to_cesrees"]),
                           {"expected_state": State.SUBMITTED})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- every form that writes carries a token ------------------------------------------------------
@pytest.mark.django_db
def test_every_form_that_writes_carries_its_own_token(client, personas, make_request, applicant,
                                                     production_completeness):
    draft = make_request(State.DRAFT)
    complete_dossier(draft, applicant)
    waiting = make_request(State.AWAITING_APPLICANT)
    reviewed = make_request(State.SUBMITTED)
    client.force_login(applicant)
    forms = []
    for url in (reverse("portal:create"), reverse("portal:edit", args=[draft.reference]),
                reverse("portal:detail", args=[draft.reference]), reverse("portal:detail", args=[waiting.reference]),
                reverse("portal:withdraw", args=[waiting.reference])):
        forms += posted_forms(client, url)
    client.force_login(personas["secretariat"])
    forms += posted_forms(client, reverse("backoffice:detail", args=[reviewed.reference]))
    writing = [(action, body) for action, body in forms if action not in (reverse("logout"), reverse("set_language"))]
    # The portal's draft form (new and edit), upload, removal, submission, answer, withdrawal; the
    # back office's actions, message (and internal note), expert invitation and assignment; the thread's
    # message form on both sides.
    for path in ("/portal/new/", "/edit/", "/attachments/", "/remove/", "/submit/", "/answer/", "/withdraw/",
                 "/act/forward_to_cesrees/", "/act/reject/", "/messages/", "/experts/", "/assign/"):
        assert any(action.endswith(path) for action, _body in writing), path
    tokens = {action: TOKEN.findall(body) for action, body in writing}
    assert {action: len(found) for action, found in tokens.items() if len(found) != 1} == {}
    every = [token for action, body in writing for token in TOKEN.findall(body)]
    assert len(set(every)) == len(every)  # each form its own token


# --- purge ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_claimed_tokens_older_than_a_day_are_purged_by_the_nightly_job(client, applicant, settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-form-tokens-nightly"]
    assert entry["task"] == "access_requests.tasks.purge_form_submissions" and entry["task"] in app.tasks
    client.force_login(applicant)
    now = timezone.now()
    for title, age in (("Ancienne", dt.timedelta(hours=25)), ("Récente", dt.timedelta(hours=2))):
        with time_machine.travel(now - age, tick=False):
            client.force_login(applicant)
            client.post(reverse("portal:create"), {**draft_data(title=title), FIELD_NAME: issue_token(applicant)})
    assert form_claims().count() == 2 and FormSubmission.objects.count() == 4  # each post: its form, its draft
    with time_machine.travel(now, tick=False):
        out = io.StringIO()
        call_command("purge_form_tokens", stdout=out)
    assert out.getvalue().strip() == "2 form token(s) purged"
    kept = form_claims().get()
    assert kept.created_at == now - dt.timedelta(hours=2)
    with time_machine.travel(now + dt.timedelta(hours=23), tick=False):
        assert app.tasks["access_requests.tasks.purge_form_submissions"]() == 2
    assert not FormSubmission.objects.exists()


# --- concurrent posts (PostgreSQL) ---------------------------------------------------------------
@pytest.mark.postgres  # a unique insert waits for the concurrent transaction: PostgreSQL's behaviour
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_of_the_same_form_create_one_draft(applicant):
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(applicant)
    data = {**draft_data(), FIELD_NAME: issue_token(applicant)}
    results: dict = {}
    saw_wait = second_waits_on_the_first(
        lambda: post_in_thread(clients[0], reverse("portal:create"), data, results, "first"),
        lambda: post_in_thread(clients[1], reverse("portal:create"), data, results, "second"),
        model=AccessRequest)

    assert saw_wait, "the second post never waited for the first one's claim"
    first, second = results["first"], results["second"]
    assert first.status_code == second.status_code == 302, results
    assert first["Location"] == second["Location"]
    assert AccessRequest.objects.count() == 1 and form_claims().count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_transition_posted_at_once_from_two_tabs_writes_one_event(personas, make_request):
    secretariat = personas["secretariat"]
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(secretariat)
    for _round in range(5):
        request = make_request(State.SUBMITTED)
        url = reverse("backoffice:act", args=[request.reference, "forward_to_cesrees"])
        data = {"expected_state": State.SUBMITTED, FIELD_NAME: issue_token(secretariat)}
        barrier = threading.Barrier(2)
        results: dict = {}
        threads = [post_in_thread(c, url, data, results, key, barrier=barrier) for key, c in zip("ab", clients, strict=True)]
        for thread in threads:
            thread.join(30)
            assert not thread.is_alive()
        assert [results[k].status_code for k in "ab"] == [303, 303], results
        assert results["a"]["Location"] == results["b"]["Location"]
        assert Event.objects.filter(request=request, action="forward_to_cesrees").count() == 1
