"""The applicant's stage table and the split of the elapsed time tell the request's story in the
order it happened: each wait on the applicant is its own row between the stays it separates,
durations read as a person says them, and a stay of a few hours is "moins d'un jour", never
"0 jours (79 %)" (the share counted hours while the days were rounded to nothing)."""

from __future__ import annotations

import re
from html import unescape

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from tests.conftest import paris

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("language_restored")]


def page(client, request, at):
    with time_machine.travel(at, tick=False):
        response = client.get(reverse("portal:detail", args=[request.reference]))
    assert response.status_code == 200
    return " ".join(unescape(response.content.decode()).split())


def split_of_time(html: str) -> list[str]:
    """The lines of "Répartition du temps écoulé", in page order."""
    section = html.split('id="etapes"')[1].split("</section>")[0]
    items = re.findall(r'<li class="fr-mb-1w"> <span class="fr-text--sm">(.*?)</span>', section)
    return items


def first_cells(html: str) -> list[str]:
    """Each row of the stage table: its label and its duration."""
    body = html.split('id="etapes"')[1].split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        rows.append(f"{cells[0]} | {cells[3]}")
    return rows


def test_a_stay_of_a_few_hours_is_less_than_a_day_with_its_share_of_the_hours(client, applicant, story):
    request = story((paris(2025, 1, 6, 9), "submit"), (paris(2025, 1, 6, 10), "forward"))
    client.force_login(applicant)

    html = page(client, request, paris(2025, 1, 6, 13, 45))
    # 1 hour submitted, 3 h 45 with the CESREES: 21 % and 79 % of the time, under a day each.
    assert split_of_time(html) == ["Déposée (recevabilité) : moins d'un jour (21 %)",
                                   "Avis du CESREES : moins d'un jour (79 %)"]
    assert "0 jours" not in html and "0 jour " not in html
    assert "Étape en cours : <strong>Avis du CESREES</strong>, depuis le 6 janvier 2025 (moins d'un jour)." in html
    assert "Temps écoulé depuis le dépôt</dt> <dd>moins d'un jour" in html


def test_the_stays_and_the_waits_on_the_applicant_read_in_the_order_they_happened(client, applicant, story):
    request = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"),
                    (paris(2025, 1, 20), "ask_incorrect"), (paris(2025, 2, 3), "answer"),
                    (paris(2025, 2, 24), "opinion"))
    client.force_login(applicant)

    html = page(client, request, paris(2025, 4, 28))
    assert first_cells(html) == [
        "Déposée (recevabilité) | 4 jours",
        "Avis du CESREES | 10 jours",
        "En attente de votre réponse temps du demandeur (délai suspendu) | 2 semaines",
        "Avis du CESREES | 3 semaines",
        "Autorisation CNIL | 2 mois",
    ]
    # The time per stage in the order each was first entered, not in the pathway's table order
    # (which put the wait on the applicant second, before the CESREES it interrupted).
    assert split_of_time(html) == [
        "Déposée (recevabilité) : 4 jours (4 %)",
        "Avis du CESREES : 4 semaines (28 %)",
        "En attente de votre réponse : 2 semaines (13 %)",
        "Autorisation CNIL : 2 mois (56 %)",
    ]


def test_in_english_the_table_says_the_same_in_english_words(client, applicant, story):
    request = story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 10), "forward"), (paris(2025, 1, 20), "ask_other"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(applicant)

    html = page(client, request, paris(2025, 3, 10))
    assert first_cells(html) == [
        "Submitted (completeness check) | 4 days",
        "CESREES review | 10 days",
        "Waiting for your answer applicant's time (time limit suspended) | 7 weeks",
    ]
    assert "Time elapsed since submission</dt> <dd>2 months" in html
    assert "including 7 weeks waiting for your answers" in html
