"""The back office shows each visit's clock as delays.clock gives it (due date and its marks,
overdue, the tacit date or its projection, the information request's reason, the days with the
applicant), and its forms record the reason of an information request and the urgent procedure."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from access_requests.models import AccessRequest, Event
from access_requests.workflow import State
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)
from tests.conftest import paris, store_baseline, with_form_token

pytestmark = pytest.mark.usefixtures("language_restored")

# reason -> (the back office's label, the applicant's words)
REASONS = {
    "incomplete": ("Dossier incomplet", "dossier incomplet"),
    "incorrect": ("Information inexacte", "information inexacte"),
    "other": ("Autre précision", "demande de précision"),
}




def act(client, request, action, **data):
    state = AccessRequest.objects.get(pk=request.pk).state
    return client.post(reverse("backoffice:act", args=[request.reference, action]),
                       with_form_token(client, {"expected_state": state, **data}))


def snapshot(request) -> tuple:
    fresh = AccessRequest.objects.get(pk=request.pk)
    return fresh.state, fresh.updated_at, Event.objects.filter(request=request).count()


def page(client, request):
    response = client.get(reverse("backoffice:detail", args=[request.reference]))
    assert response.status_code == 200
    return response, unescape(response.content.decode())


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# --- the information request's reason -----------------------------------------------------------
@pytest.mark.parametrize("reason", list(REASONS))
def test_each_reason_posted_is_stored_shown_to_reviewers_and_told_to_the_applicant(client, personas, make_request,
                                                                                   reason):
    label, applicant_words = REASONS[reason]
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["cesrees"])
    _response, html = page(client, request)
    for offered in REASONS.values():
        assert offered[0] in html  # the three reasons, as radio buttons
    assert html.count('name="reason"') == 3

    response = act(client, request, "request_information", question="Quel effectif ?", reason=reason)

    assert response.status_code == 303
    request.refresh_from_db()
    assert request.state == State.AWAITING_APPLICANT
    assert request.events.last().payload == {"question": "Quel effectif ?", "reason": reason}
    materialise_all()
    response, html = page(client, request)
    interrupted, pause = response.context["timeline"][-2:]
    assert (interrupted["code"], interrupted["reason"], interrupted["reason_label"]) == (
        State.CESREES_REVIEW, reason, label)
    assert (pause["code"], pause["reason"], pause["reason_label"]) == (State.AWAITING_APPLICANT, reason, label)
    assert f"Motif : {label}" in html  # beside the question asked
    applicant = Client()
    applicant.force_login(personas["applicant"])
    portal = applicant.get(reverse("portal:detail", args=[request.reference]))
    assert portal.context["question"].reason_label == applicant_words
    assert f"Motif : {applicant_words}" in unescape(portal.content.decode())


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Choisissez le motif de la demande de compléments."),
    ({"reason": ""}, "Choisissez le motif de la demande de compléments."),
    ({"reason": "urgent"}, "Ce motif n'existe pas : choisissez l'un des motifs proposés."),
    ({"reason": "Dossier incomplet"}, "Ce motif n'existe pas : choisissez l'un des motifs proposés."),
])
def test_a_missing_or_unknown_reason_is_refused_with_a_clear_message_and_writes_nothing(client, personas,
                                                                                        make_request, data, message):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    before = snapshot(request)
    response = act(client, request, "request_information", question="Joignez le protocole.", **data)
    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert message in html
    assert "Le formulaire contient des erreurs" in html
    assert "Joignez le protocole." in html  # what was typed is kept
    assert snapshot(request) == before


def test_the_reason_field_and_its_error_read_in_english(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    english(client).force_login(personas["secretariat"])
    before = snapshot(request)
    response = act(client, request, "request_information", question="Protocol?")
    html = unescape(response.content.decode())
    assert response.status_code == 400
    assert '<html lang="en"' in html
    for text in ("Reason for the request", "Incomplete dossier", "Incorrect information", "Other clarification",
                 "Choose the reason for the request for information."):
        assert text in html
    assert "Choisissez le motif" not in html and "Dossier incomplet" not in html
    assert snapshot(request) == before


# --- the urgent CESREES procedure ---------------------------------------------------------------
@pytest.mark.parametrize(("urgent", "due"), [
    # 16 May 2025 + 15 days = Saturday 31 May: the period ends on Monday 2 June (art. 642).
    (True, dt.date(2025, 6, 2)),
    (False, dt.date(2025, 6, 16)),  # one month
])
def test_the_urgent_procedure_gives_the_cesrees_15_days_moved_to_a_working_day(client, personas, player, urgent, due):
    request = player.story((paris(2025, 5, 14), "submit"))
    client.force_login(personas["secretariat"])
    with time_machine.travel(paris(2025, 5, 16), tick=False):
        _response, html = page(client, request)
        assert "Procédure d'urgence (15 jours)" in html and 'type="checkbox" name="urgent"' in html
        response = act(client, request, "forward_to_cesrees", **({"urgent": "on"} if urgent else {}))
        assert response.status_code == 303
        materialise_all()
        response, html = page(client, request)
    request.refresh_from_db()
    assert request.state == State.CESREES_REVIEW
    assert request.events.last().payload == ({"urgent": True} if urgent else {})
    visit = response.context["timeline"][-1]
    assert (visit["code"], visit["due_date"], visit["urgent"]) == (State.CESREES_REVIEW, due, urgent)
    assert response.context["clock"]["due_date"] == due
    assert ("Échéance légale : 2 juin 2025 (procédure d'urgence)" in html) == urgent


# --- projected and real tacit dates; extensions -------------------------------------------------
def test_an_open_review_shows_its_tacit_date_projected_within_its_period_and_real_once_overdue(client, personas,
                                                                                              player):
    request = player.story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"))
    client.force_login(personas["cesrees"])
    with time_machine.travel(paris(2025, 1, 20), tick=False):
        response, html = page(client, request)
    visit = response.context["timeline"][-1]
    assert (visit["due_date"], visit["overdue"], visit["tacit_decision"], visit["tacit_effect_date"],
            visit["projected"]) == (dt.date(2025, 2, 10), False, "favourable_opinion", dt.date(2025, 2, 11), True)
    assert ("Décision implicite prévue le 11 février 2025 si le délai s'écoule sans décision (avis favorable)"
            in html)
    assert "(si silence)" in html and "court encore" in html
    assert "/act/extend_review/" in html

    with time_machine.travel(paris(2025, 2, 20), tick=False):
        response, html = page(client, request)
        before = snapshot(request)
        refused = act(client, request, "extend_review", comment="Trop tard")
    visit = response.context["timeline"][-1]
    assert (visit["due_date"], visit["overdue"], visit["tacit_decision"], visit["tacit_effect_date"],
            visit["projected"]) == (dt.date(2025, 2, 10), True, "favourable_opinion", dt.date(2025, 2, 11), False)
    assert "Décision implicite le 11 février 2025 en cas de silence (avis favorable)" in html
    assert "Décision implicite prévue" not in html and "(si silence)" not in html
    assert "Délai légal dépassé" in html
    assert "/act/extend_review/" not in html  # the period is over: the workflow no longer offers it
    assert refused.status_code in (400, 409)
    assert "déjà écoulé" in unescape(refused.content.decode())
    assert snapshot(request) == before


def test_an_extended_period_is_marked_and_the_extension_is_no_longer_offered(client, personas, player):
    request = player.story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"),
                           (paris(2025, 1, 20), "extend"))
    client.force_login(personas["cesrees"])
    with time_machine.travel(paris(2025, 1, 25), tick=False):
        response, html = page(client, request)
    visit = response.context["timeline"][-1]
    assert (visit["extended"], visit["due_date"], visit["projected"]) == (True, dt.date(2025, 3, 10), True)
    assert "Échéance légale : 10 mars 2025 (délai prolongé)" in html
    assert "prolongé" in html
    assert "/act/extend_review/" not in html


def test_the_days_with_the_applicant_and_the_reason_stay_on_the_visit_a_pause_interrupted(client, personas,
                                                                                           player):
    request = player.story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"),
                           (paris(2025, 1, 20), "ask_incorrect"))
    client.force_login(personas["secretariat"])
    with time_machine.travel(paris(2025, 1, 24), tick=False):
        response, html = page(client, request)
    assert response.context["clock"]["paused_days"] == 4
    assert "4 jours chez le demandeur" in html
    assert "Motif : Information inexacte" in html

    player.step(request, paris(2025, 1, 27), "answer")
    with time_machine.travel(paris(2025, 1, 28), tick=False):
        response, html = page(client, request)
    rows = [(v["code"], v["reason"], v["paused_days"]) for v in response.context["timeline"]]
    assert rows == [(State.SUBMITTED, "", 0), (State.CESREES_REVIEW, "incorrect", 7),
                    (State.AWAITING_APPLICANT, "incorrect", 7), (State.CESREES_REVIEW, "", 0)]
    # In the order they happened, the wait on the applicant its own row between the stays it separates.
    assert timeline_rows(html) == [
        ["Déposée (recevabilité)", "06/01/2025", "10/01/2025", "4 jours", "4,0 j", "15/01/2025", "tenu", "—", "—"],
        ["Avis du CESREES", "10/01/2025", "20/01/2025", "10 jours", "10,0 j", "10/02/2025", "suspendu", "—", "—"],
        ["En attente du demandeur", "20/01/2025", "27/01/2025", "7 jours", "7,0 j", "—", "—", "—",
         "Information inexacte"],
        ["Avis du CESREES", "27/01/2025", "en cours", "1 jour", "1,0 j", "27/02/2025", "court encore",
         "avis favorable", "prévue le 28/02/2025 (si silence)", "—"],
    ]


def timeline_rows(html: str) -> list[list[str]]:
    """The cells of the stage table's rows, each cell's text split on its line breaks."""
    (table,) = [part for part in html.split("<table") if 'id="timeline"' in part]
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", part).split()) for cell in cells
                     for part in re.split(r"<br\s*/?>", cell) if re.sub(r"<[^>]+>", "", part).strip()])
    return rows


def test_the_clock_columns_read_in_english(client, personas, player):
    request = player.story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward_urgent"))
    english(client).force_login(personas["cesrees"])
    with time_machine.travel(paris(2025, 1, 20), tick=False):
        _response, html = page(client, request)
    assert '<html lang="en"' in html
    for text in ("Reason for the request for information", "still running",
                 "projected for", "(if silent)", "urgent procedure",
                 "Tacit decision projected for 28 January 2025 if the time limit runs out with no decision "
                 "(favourable opinion)"):
        assert text in html, text
    assert "Décision implicite" not in html and "court encore" not in html

    paused = player.story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"),
                          (paris(2025, 1, 20), "ask_other"))
    with time_machine.travel(paris(2025, 1, 24), tick=False):
        _response, html = page(client, paused)
    assert "Reason: Other clarification" in html
    assert "4 days with the applicant" in html
    assert "Motif" not in html and "chez le demandeur" not in html


# --- the forecast needs enough history (rule 6) -------------------------------------------------
@pytest.mark.parametrize(("delivered", "shown"), [(19, False), (20, True)])
def test_the_forecast_is_shown_only_from_20_delivered_requests(client, personas, make_request, delivered, shown):
    from delays.materialise import materialise_request

    store_baseline({
        "submitted": 7, "cesrees_review": 35, "cnil_review": 60, "contracting": 90, "matching": 120,
        "extraction": 150, "delivered_requests": delivered})
    request = make_request(State.CNIL_REVIEW)
    materialise_request(request.pk)
    client.force_login(personas["secretariat"])
    response, html = page(client, request)
    target = response.context["target"]
    assert target["forecast_known"] is shown
    assert ("Mise à disposition prévue vers le" in html) is shown
    assert ("Prévision pas encore estimable (moins de 20 dossiers aboutis)." in html) is not shown
