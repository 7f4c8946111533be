"""Autosave of the draft form (portal/autosave.py): one draft per page however its saves race, the
final submit keeps the latest text, refusals are JSON (401, 400, 403/404, 409) and never a 500.

The browser side (the 30-second timer, "Enregistré à", localStorage across a sign-in) is in
tests/e2e/test_autosave.py.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from access_requests.form_tokens import FIELD_NAME, issue_token
from access_requests.models import AccessRequest, Event, FormSubmission
from access_requests.workflow import State
from catalog.models import Dataset
from portal.autosave import time_of_day
from tests.concurrency import post_in_thread, second_waits_on_the_first
from tests.conftest import paris, with_form_token

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([^"]+)">')
NEW = "/portal/new/autosave/"


def dataset_ids(*codes: str) -> list[str]:
    return [str(pk) for pk in Dataset.objects.filter(code__in=codes).values_list("pk", flat=True)]


def fields(**overrides) -> dict:
    data = {"title": "Cancers du rein et parcours de soins", "summary": "Cohorte nationale.",
            "public_interest": "", "methodology": "", "route": "standard", "datasets": dataset_ids("snds"),
            "team_members": "", "expected_start": ""}
    return {**data, **overrides}


def page_token(client, url: str) -> str:
    """The one-time token of the draft form on the page at ``url``, as the browser posts it."""
    html = client.get(url).content.decode()
    form = html[html.index('id="draft-form"'):]
    return TOKEN.search(form).group(1)


def autosave(client, url: str, data: dict):
    return client.post(url, data, HTTP_ACCEPT="application/json")


def edit_url(request: AccessRequest) -> str:
    return reverse("portal:edit", args=[request.reference])


def autosave_url(request: AccessRequest) -> str:
    return reverse("portal:autosave", args=[request.reference])


# --- the new-request page --------------------------------------------------------------------------
def test_the_first_autosave_of_a_new_form_creates_the_draft_and_answers_its_edit_url(client, applicant):
    client.force_login(applicant)
    token = page_token(client, reverse("portal:create"))

    with time_machine.travel(paris(2025, 3, 4, 14, 5), tick=False):
        response = autosave(client, NEW, fields(methodology="Cohorte rétrospective.", **{FIELD_NAME: token}))

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    draft = AccessRequest.objects.get()
    answer = response.json()
    assert answer == {
        "saved_at": "2025-03-04T13:05:00+00:00", "saved_at_display": "14 h 05", "reference": draft.reference,
        "edit_url": edit_url(draft), "autosave_url": autosave_url(draft), "unsaved": [],
    }
    assert (draft.state, draft.applicant, draft.title, draft.summary, draft.methodology) == (
        State.DRAFT, applicant, "Cancers du rein et parcours de soins", "Cohorte nationale.", "Cohorte rétrospective.")
    assert list(draft.datasets.values_list("code", flat=True)) == ["snds"]
    assert Event.objects.filter(request=draft, action="create").count() == 1
    assert "no-store" in response["Cache-Control"]


def test_later_autosaves_of_the_same_page_update_that_draft(client, applicant):
    client.force_login(applicant)
    token = issue_token(applicant)

    for summary in ("Première version.", "Deuxième version.", "Troisième version."):
        assert autosave(client, NEW, fields(summary=summary, **{FIELD_NAME: token})).status_code == 200

    draft = AccessRequest.objects.get()
    assert draft.summary == "Troisième version."
    assert Event.objects.filter(request=draft).count() == 1


def test_two_pages_of_the_new_form_make_two_drafts(client, applicant):
    client.force_login(applicant)
    for title in ("Projet A", "Projet B"):
        assert autosave(client, NEW, fields(title=title, **{FIELD_NAME: issue_token(applicant)})).status_code == 200
    assert sorted(AccessRequest.objects.values_list("title", flat=True)) == ["Projet A", "Projet B"]


def test_the_time_saved_is_said_in_english_on_an_english_page(client, applicant, language_restored):
    client.force_login(applicant)
    with time_machine.travel(paris(2025, 3, 4, 14, 5), tick=False):
        response = client.post(NEW, fields(**{FIELD_NAME: issue_token(applicant)}), HTTP_ACCEPT="application/json",
                               HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["saved_at_display"] == "2:05 pm"


def test_the_time_saved_is_a_paris_time_of_day_in_french_typography():
    assert time_of_day(paris(2025, 3, 4, 9, 5)) == "9 h 05"
    assert time_of_day(paris(2025, 7, 14, 23, 59)) == "23 h 59"  # summer time: still Paris
    assert time_of_day(dt.datetime(2025, 7, 14, 12, 0, tzinfo=dt.UTC)) == "14 h 00"


def test_a_new_form_without_a_title_creates_nothing_and_says_the_text_stays_in_the_browser(client, applicant):
    client.force_login(applicant)
    response = autosave(client, NEW, fields(title="  ", **{FIELD_NAME: issue_token(applicant)}))

    assert response.status_code == 400
    assert response.json()["error"] == "title_required"
    assert "dès que le projet aura un titre" in response.json()["message"]
    assert not AccessRequest.objects.exists() and not FormSubmission.objects.exists()


# --- an incomplete form saves what is valid --------------------------------------------------------
def test_an_incomplete_draft_saves_each_valid_field_and_names_the_others(client, make_request, applicant):
    draft = make_request(State.DRAFT)
    client.force_login(applicant)
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    data = fields(title="", summary="Texte en cours de rédaction", methodology="x" * 20_001,
                  expected_start=yesterday, **{FIELD_NAME: issue_token(applicant)})

    response = autosave(client, autosave_url(draft), data)

    assert response.status_code == 200
    assert response.json()["unsaved"] == ["Titre du projet", "Méthodologie", "Début souhaité du projet"]
    draft.refresh_from_db()
    assert draft.title == "Parcours de soins après un AVC"  # the saved title stays
    assert draft.summary == "Texte en cours de rédaction"
    assert draft.methodology == "" and draft.expected_start is None


def test_a_procedure_that_does_not_fit_the_datasets_is_not_saved_with_them(client, make_request, applicant):
    draft = make_request(State.DRAFT, codes=("snds",))
    client.force_login(applicant)
    data = fields(route="reference_methodology", datasets=dataset_ids("snds", "oscour"), summary="Nouveau résumé",
                  **{FIELD_NAME: issue_token(applicant)})

    response = autosave(client, autosave_url(draft), data)

    assert response.json()["unsaved"] == ["Procédure", "Bases de données demandées",
                                          "Nous apportons des données propres à apparier avec les bases demandées"]
    draft.refresh_from_db()
    assert (draft.route, draft.summary) == ("standard", "Nouveau résumé")
    assert list(draft.datasets.values_list("code", flat=True)) == ["snds"]


# --- the final submit after an autosave -------------------------------------------------------------
def test_the_final_submit_to_the_edit_page_after_an_autosave_keeps_the_latest_text(client, applicant):
    client.force_login(applicant)
    token = page_token(client, reverse("portal:create"))
    answer = autosave(client, NEW, fields(summary="Version autosauvegardée.", **{FIELD_NAME: token})).json()

    # The script has pointed the form at the edit page; the form still carries its page's token.
    response = client.post(answer["edit_url"], fields(summary="Version finale.", **{FIELD_NAME: token}))

    draft = AccessRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:detail", args=[draft.reference]) + "#pieces"
    assert draft.summary == "Version finale."
    # The page is still the new request's: its answer is the creation's, not a plain edit's.
    assert f"Brouillon {draft.reference} enregistré. Ajoutez les pièces" in client.get(response["Location"]).content.decode()


def test_a_later_edit_page_of_that_draft_answers_as_an_edit(client, applicant):
    client.force_login(applicant)
    answer = autosave(client, NEW, fields(**{FIELD_NAME: issue_token(applicant)})).json()

    response = client.post(answer["edit_url"], fields(summary="Modifié.", **with_form_token(client)))

    assert response["Location"] == reverse("portal:detail", args=[answer["reference"]])
    assert "Brouillon enregistré." in client.get(response["Location"]).content.decode()


def test_the_final_submit_to_the_new_page_after_an_autosave_updates_that_draft(client, applicant):
    client.force_login(applicant)
    token = page_token(client, reverse("portal:create"))
    autosave(client, NEW, fields(summary="Version autosauvegardée.", **{FIELD_NAME: token}))

    # The script did not switch the form's action (its answer was lost): the create view finds the draft.
    response = client.post(reverse("portal:create"), fields(summary="Version finale.", **{FIELD_NAME: token}))

    draft = AccessRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:detail", args=[draft.reference]) + "#pieces"
    assert draft.summary == "Version finale."
    assert f"Brouillon {draft.reference} enregistré." in client.get(response["Location"]).content.decode()


def test_an_autosave_arriving_after_the_form_was_sent_is_refused_and_changes_nothing(client, applicant):
    client.force_login(applicant)
    token = issue_token(applicant)
    client.post(reverse("portal:create"), fields(summary="Version finale.", **{FIELD_NAME: token}))

    late = autosave(client, NEW, fields(summary="Version plus ancienne.", **{FIELD_NAME: token}))

    assert late.status_code == 409 and late.json()["error"] == "form_already_sent"
    assert AccessRequest.objects.get().summary == "Version finale."


def test_an_autosave_of_an_edit_page_already_sent_is_refused(client, make_request, applicant):
    draft = make_request(State.DRAFT)
    client.force_login(applicant)
    token = page_token(client, edit_url(draft))
    client.post(edit_url(draft), fields(summary="Envoyé.", **{FIELD_NAME: token}))

    late = autosave(client, autosave_url(draft), fields(summary="Plus ancien.", **{FIELD_NAME: token}))

    assert late.status_code == 409
    draft.refresh_from_db()
    assert draft.summary == "Envoyé."


# --- the edit page: who may save --------------------------------------------------------------------
@pytest.mark.parametrize("who", ["applicant", "colleague"])
def test_the_owner_and_a_colleague_autosave_the_draft(client, make_request, personas, who):
    draft = make_request(State.DRAFT)
    client.force_login(personas[who])
    token = page_token(client, edit_url(draft))

    response = autosave(client, autosave_url(draft), fields(summary=f"Texte de {who}", **{FIELD_NAME: token}))

    assert response.status_code == 200 and response.json()["reference"] == draft.reference
    draft.refresh_from_db()
    assert draft.summary == f"Texte de {who}"


@pytest.mark.parametrize("who", ["outsider", "secretariat"])
def test_another_organisation_or_a_reviewer_cannot_autosave_a_draft(client, make_request, personas, who):
    draft = make_request(State.DRAFT)
    client.force_login(personas[who])

    response = autosave(client, autosave_url(draft), fields(summary="Piraté", **{FIELD_NAME: issue_token(personas[who])}))

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Demande introuvable."}
    draft.refresh_from_db()
    assert draft.summary == "Étude de cohorte"


@pytest.mark.parametrize("state", [State.SUBMITTED, State.AWAITING_APPLICANT, State.WITHDRAWN])
def test_a_request_that_is_no_longer_a_draft_is_not_autosaved(client, make_request, applicant, state):
    request = make_request(state)
    client.force_login(applicant)
    before = AccessRequest.objects.get(pk=request.pk).summary

    response = autosave(client, autosave_url(request), fields(summary="Trop tard", **{FIELD_NAME: issue_token(applicant)}))

    assert response.status_code == 409 and response.json()["error"] == "illegal_transition"
    assert "Seul un brouillon se modifie." in response.json()["message"]
    assert AccessRequest.objects.get(pk=request.pk).summary == before


# --- signed out, bad tokens, hostile input: JSON, never a 500 --------------------------------------
@pytest.mark.parametrize("target", ["new", "draft"])
def test_an_expired_session_gets_a_401_json_with_the_sign_in_url_and_nothing_is_saved(client, make_request, target):
    draft = make_request(State.DRAFT)
    url = NEW if target == "new" else autosave_url(draft)

    response = autosave(client, url, fields(summary="Perdu ?"))

    assert response.status_code == 401
    assert response.json()["error"] == "signed_out" and response.json()["login_url"] == reverse("login")
    assert "Votre texte est gardé dans ce navigateur." in response.json()["message"]
    assert AccessRequest.objects.count() == 1 and AccessRequest.objects.get().summary == "Étude de cohorte"


def test_an_expired_session_is_said_even_without_the_json_accept_header(client):
    response = client.post(NEW, fields())
    assert response.status_code == 401 and response.json()["error"] == "signed_out"


def test_a_get_is_refused_with_a_json_405(client, applicant):
    client.force_login(applicant)
    response = client.get(NEW)
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("token", ["", "forged", "other_user"])
def test_a_missing_forged_or_foreign_token_is_a_400_json_and_saves_nothing(client, applicant, colleague, token):
    client.force_login(applicant)
    value = {"": "", "forged": "abc:def:ghi", "other_user": issue_token(colleague)}[token]

    response = autosave(client, NEW, fields(**{FIELD_NAME: value}))

    assert response.status_code == 400
    assert response.json() == {"error": "expired_form", "message": "Ce formulaire a expiré, rechargez la page."}
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize("hostile", [
    {"datasets": ["1e3"]}, {"datasets": ["9" * 30]}, {"route": "inconnue"}, {"expected_start": "2025-02-30"},
    {"summary": "a\x00b"}, {"title": "t" * 301}, {"brings_own_data": "peut-être"}, {"title": ["A", "B"]},
])
def test_hostile_input_is_a_clear_answer_never_a_500(client, make_request, applicant, hostile):
    draft = make_request(State.DRAFT)
    client.force_login(applicant)
    for url in (NEW, autosave_url(draft)):
        response = autosave(client, url, fields(**hostile, **{FIELD_NAME: issue_token(applicant)}))
        assert response.status_code in (200, 400), (url, response.status_code)
        assert response["Content-Type"] == "application/json"


def test_an_unknown_reference_is_a_404(client, applicant):
    client.force_login(applicant)
    response = autosave(client, "/portal/requests/HDH-2025-9999/autosave/", fields(**with_form_token(client)))
    assert response.status_code == 404 and response.json()["error"] == "not_found"


# --- what the form page gives the script -------------------------------------------------------------
def test_the_new_form_tells_the_script_where_to_save_and_what_to_say(client, applicant):
    client.force_login(applicant)
    html = client.get(reverse("portal:create")).content.decode()

    assert f'data-autosave-url="{NEW}"' in html
    assert f'data-storage-prefix="hdh-draft:{applicant.pk}:" data-storage-key="new"' in html
    assert 'data-msg-saved="Enregistré à %(time)s"' in html
    assert 'id="autosave-status" role="status" aria-live="polite"' in html
    assert "Restaurer le texte non enregistré" in html
    assert '<script src="/static/portal/autosave.js"></script>' in html


def test_the_edit_form_saves_to_its_draft_and_speaks_english_on_an_english_page(client, make_request, applicant,
                                                                              language_restored):
    draft = make_request(State.DRAFT)
    client.force_login(applicant)
    html = client.get(edit_url(draft), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert f'data-autosave-url="{autosave_url(draft)}"' in html
    assert f'data-storage-key="{draft.reference}"' in html
    assert 'data-msg-saved="Saved at %(time)s"' in html and "Restore the unsaved text" in html


# --- races (PostgreSQL) ------------------------------------------------------------------------------
def _race(applicant, second_url: str, first_data: dict, second_data: dict) -> dict:
    """The first post creates the draft and holds its transaction; the second starts meanwhile."""
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(applicant)
    results: dict = {}
    saw_wait = second_waits_on_the_first(
        lambda: post_in_thread(clients[0], NEW, first_data, results, "first", HTTP_ACCEPT="application/json"),
        lambda: post_in_thread(clients[1], second_url, second_data, results, "second",
                               HTTP_ACCEPT="application/json"),
        model=AccessRequest)
    assert saw_wait, "the second post never waited for the first one's claim"
    return results


@pytest.mark.postgres  # a unique insert waits for the concurrent transaction: PostgreSQL's behaviour
@pytest.mark.django_db(transaction=True)
def test_two_racing_autosaves_of_the_same_page_create_one_draft(applicant):
    token = issue_token(applicant)

    results = _race(applicant, NEW, fields(summary="Premier", **{FIELD_NAME: token}),
                    fields(summary="Second", **{FIELD_NAME: token}))

    first, second = results["first"], results["second"]
    assert first.status_code == second.status_code == 200, results
    assert first.json()["reference"] == second.json()["reference"]
    assert AccessRequest.objects.count() == 1 and AccessRequest.objects.get().summary == "Second"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_final_submit_racing_the_first_autosave_updates_its_draft_with_the_latest_text(applicant):
    token = issue_token(applicant)

    results = _race(applicant, reverse("portal:create"), fields(summary="Autosauvegarde", **{FIELD_NAME: token}),
                    fields(summary="Version finale", **{FIELD_NAME: token}))

    draft = AccessRequest.objects.get()
    assert results["first"].status_code == 200 and results["second"].status_code == 302, results
    assert results["second"]["Location"] == reverse("portal:detail", args=[draft.reference]) + "#pieces"
    assert draft.summary == "Version finale"
