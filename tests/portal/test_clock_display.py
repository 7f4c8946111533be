"""The applicant's page reads each stay's clock from delays.clock, in their words: the due date
and its marks, the tacit date (projected while the period runs), why the instructors asked for
information, and the days the dossier waited on the applicant."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from access_requests.workflow import State
from tests.conftest import paris

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("language_restored")]


def stage_rows(response) -> list[list[str]]:
    """The cells of the stage table's rows (#etapes), each cell's text split on its line breaks."""
    html = unescape(response.content.decode())
    section = html.split('id="etapes"')[1]
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", part).split()) for cell in cells
                     for part in re.split(r"<br\s*/?>", cell) if re.sub(r"<[^>]+>", "", part).strip()])
    return rows


def portal_page(client, request, at):
    with time_machine.travel(at, tick=False):
        response = client.get(reverse("portal:detail", args=[request.reference]))
    assert response.status_code == 200
    return response, " ".join(unescape(response.content.decode()).split())


def test_an_open_review_shows_the_date_silence_would_take_effect_then_the_date_it_did(client, applicant, story):
    request = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"))
    client.force_login(applicant)

    response, html = portal_page(client, request, paris(2025, 1, 20))
    current = response.context["current_visit"]
    assert (current.stage, current.due_date, current.overdue, current.projected, current.tacit_effect_date) == (
        State.CESREES_REVIEW, dt.date(2025, 2, 10), False, True, dt.date(2025, 2, 11))
    assert ("Sans décision à cette date, le silence vaudra avis favorable à compter du 11 février 2025 "
            "(date prévue : le délai court encore).") in html
    assert "Avis favorable<br>" in html and "le 11/02/2025 si rien n'est décidé d'ici là (date prévue)" in html
    assert "Le délai a expiré" not in html

    response, html = portal_page(client, request, paris(2025, 2, 20))
    current = response.context["current_visit"]
    assert (current.overdue, current.projected, current.tacit_effect_date) == (True, False, dt.date(2025, 2, 11))
    assert "Le délai a expiré sans décision : le silence vaut avis favorable à compter du 11 février 2025." in html
    assert "à compter du 11/02/2025 (délai expiré)" in html
    assert "échéance dépassée" in html
    assert "date prévue" not in html


@pytest.mark.parametrize(("step", "words"), [
    ("ask", "dossier incomplet"),  # no reason recorded counts as incomplete
    ("ask_incomplete", "dossier incomplet"),
    ("ask_incorrect", "information inexacte"),
    ("ask_other", "demande de précision"),
])
def test_the_applicant_reads_why_information_is_asked_and_how_long_it_waited_on_them(client, applicant, story,
                                                                                   step, words):
    request = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"), (paris(2025, 1, 20), step))
    client.force_login(applicant)

    response, html = portal_page(client, request, paris(2025, 1, 27))
    assert response.context["question"].reason_label == words
    assert f"Motif : {words}" in html
    pause = response.context["visits"][-1]
    assert (pause.stage, pause.applicant_time, pause.reason_label, pause.paused_days) == (
        State.AWAITING_APPLICANT, True, words, 7)
    assert stage_rows(response)[-1] == [
        "En attente de votre réponse", "temps du demandeur (délai suspendu)", "20/01/2025", "en cours", "7 jours", "—",
        "—", words.capitalize()]


def test_after_the_answer_the_interrupted_stay_keeps_its_reason_and_the_days_with_the_applicant(
        client, applicant, story):
    request = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"),
                    (paris(2025, 1, 20), "ask_incorrect"), (paris(2025, 1, 27), "answer"))
    client.force_login(applicant)
    response, html = portal_page(client, request, paris(2025, 1, 28))
    assert response.context["question"] is None
    rows = [(v.stage, v.reason_label, v.paused_days, v.interrupted) for v in response.context["visits"]]
    assert rows == [(State.SUBMITTED, "", 0, False), (State.CESREES_REVIEW, "information inexacte", 7, True),
                    (State.AWAITING_APPLICANT, "information inexacte", 7, False), (State.CESREES_REVIEW, "", 0, False)]
    # In the order they happened, the wait on the applicant its own row between the stays it separates.
    assert stage_rows(response) == [
        ["Déposée (recevabilité)", "06/01/2025", "10/01/2025", "4 jours", "15/01/2025 respectée", "—", "—"],
        ["Avis du CESREES", "10/01/2025", "20/01/2025", "10 jours", "10/02/2025 suspendue", "—", "—"],
        ["En attente de votre réponse", "temps du demandeur (délai suspendu)", "20/01/2025", "27/01/2025", "7 jours",
         "—", "—", "Information inexacte"],
        ["Avis du CESREES", "27/01/2025", "en cours", "1 jour", "27/02/2025", "Avis favorable",
         "le 28/02/2025 si rien n'est décidé d'ici là (date prévue)", "—"],
    ]
    assert "Motif :" not in html  # nothing left to answer


def test_the_urgent_procedure_and_an_extension_are_told_to_the_applicant(client, applicant, story):
    urgent = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward_urgent"))
    client.force_login(applicant)
    response, html = portal_page(client, urgent, paris(2025, 1, 15))
    current = response.context["current_visit"]
    # 10 January + 15 days = Saturday 25 January: the period ends on Monday 27 January.
    assert (current.urgent, current.due_date) == (True, dt.date(2025, 1, 27))
    assert "Le CESREES examine votre dossier en procédure d'urgence (15 jours)." in html

    extended = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"), (paris(2025, 1, 20), "extend"))
    response, html = portal_page(client, extended, paris(2025, 1, 25))
    current = response.context["current_visit"]
    assert (current.extended, current.due_date) == (True, dt.date(2025, 3, 10))
    assert "Ce délai a été prolongé." in html and "délai prolongé" in html


def test_the_clock_reads_in_english(client, applicant, story):
    request = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"))
    paused = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"), (paris(2025, 1, 20), "ask_other"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(applicant)

    _response, html = portal_page(client, request, paris(2025, 1, 20))
    assert '<html lang="en"' in html
    assert "silence will mean favourable opinion from" in html
    assert "(projected date: the time limit is still running)." in html
    assert "if nothing is decided by then (projected date)" in html
    assert "vaudra" not in html and "date prévue" not in html

    _response, html = portal_page(client, request, paris(2025, 2, 20))
    assert "The time limit ran out with no decision: silence means favourable opinion from" in html
    assert "(time limit expired)" in html

    response, html = portal_page(client, paused, paris(2025, 1, 27))
    assert "Reason: request for clarification" in html
    assert stage_rows(response)[-1] == [
        "Waiting for your answer", "applicant's time (time limit suspended)", "20 Jan 2025", "in progress", "7 days", "—", "—",
        "Request for clarification"]
    assert "Motif" not in html
