"""Dates and numbers as each language writes them, on the real pages (hdh_access/formats).

French: « 3 décembre 2026 à 14 h 05 », « 03/12/2026 », a decimal comma and a narrow no-break
space between thousands. English (British): "3 December 2026, 2:05 pm", "3 Dec 2026", never
the American "Dec. 3, 2026, 2:05 p.m." (whose "p.m." became "p.m.." before a full stop).
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format, time_format

from tests.conftest import paris
from tests.delays.test_headline import headline_history  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("language_restored")]

ASKED = paris(2026, 12, 3, 14, 5)  # the CESREES asks the applicant a question then
SEEN = paris(2026, 12, 10, 16, 0)


def text(response) -> str:
    assert response.status_code == 200
    return " ".join(unescape(response.content.decode()).split())


def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def assert_no_american_times(html: str) -> None:
    assert not re.search(r"\b[ap]\.m\.", html), "an American a.m./p.m. on the page"
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\. \d", html), "a month before its day"


@pytest.fixture
def questioned(player):
    """Submitted 20 November 2026, 9:30; with the CESREES from 24 November, 11:00; asked a
    question on 3 December 2026 at 14:05."""
    return player.story((paris(2026, 11, 20, 9, 30), "submit"), (paris(2026, 11, 24, 11, 0), "forward"),
                        (ASKED, "ask_other"))


# --- the formats themselves ---------------------------------------------------------------------
@pytest.mark.parametrize(("language", "expected"), [
    ("fr", {"DATETIME_FORMAT": "3 décembre 2026 à 14 h 05", "DATE_FORMAT": "3 décembre 2026",
            "SHORT_DATE_FORMAT": "03/12/2026", "SHORT_DATETIME_FORMAT": "03/12/2026 à 14 h 05",
            "TIME_FORMAT": "14 h 05"}),
    ("en", {"DATETIME_FORMAT": "3 December 2026, 2:05 pm", "DATE_FORMAT": "3 December 2026",
            "SHORT_DATE_FORMAT": "3 Dec 2026", "SHORT_DATETIME_FORMAT": "3 Dec 2026, 2:05 pm",
            "TIME_FORMAT": "2:05 pm"}),
])
def test_each_named_format_reads_as_the_language_writes_it(language, expected):
    local = ASKED.replace(tzinfo=None)
    with translation.override(language):
        assert {name: date_format(local, name) for name in expected} == expected


def test_mornings_and_midnight_read_right_in_both_languages():
    with translation.override("en"):
        assert time_format(dt.time(9, 30), "TIME_FORMAT") == "9:30 am"
        assert time_format(dt.time(0, 5), "TIME_FORMAT") == "12:05 am"
    with translation.override("fr"):
        assert time_format(dt.time(9, 30), "TIME_FORMAT") == "9 h 30"
        assert time_format(dt.time(0, 5), "TIME_FORMAT") == "0 h 05"


def test_numbers_take_a_decimal_comma_and_grouped_thousands_in_french():
    template = Template('{{ mean|floatformat:1 }} | {{ count|floatformat:"g" }} | {{ pk }}')
    context = Context({"mean": 1234.56, "count": 12345, "pk": 12345})
    with translation.override("fr"):
        # the grouping is asked where a count is shown; an id in a form or a link is never grouped
        assert template.render(context) == "1234,6 | 12\u202f345 | 12345"
    with translation.override("en"):
        assert template.render(context) == "1234.6 | 12,345 | 12345"


# --- on the pages -------------------------------------------------------------------------------
def test_the_portal_page_writes_dates_in_french_and_in_british_english(client, personas, questioned):
    client.force_login(personas["applicant"])
    url = reverse("portal:detail", args=[questioned.reference])

    with time_machine.travel(SEEN, tick=False):
        french = text(client.get(url))
    assert "le 3 décembre 2026 à 14 h 05, à l'étape « Avis du CESREES »" in french  # the question asked
    assert '<time datetime="2026-12-03T14:05:00+01:00">3 décembre 2026 à 14 h 05</time>' in french  # history
    assert "Déposée le</dt><dd>20 novembre 2026</dd>" in french
    assert "<td class=\"hdh-nowrap\">03/12/2026</td>" in french  # the stage table

    with time_machine.travel(SEEN, tick=False):
        english = text(in_english(client).get(url))
    assert "on 3 December 2026, 2:05 pm, at the stage" in english
    assert '<time datetime="2026-12-03T14:05:00+01:00">3 December 2026, 2:05 pm</time>' in english
    assert "Submitted on</dt><dd>20 November 2026</dd>" in english
    assert "<td class=\"hdh-nowrap\">3 Dec 2026</td>" in english
    assert_no_american_times(english)


def test_the_back_office_page_writes_dates_and_decimals_as_each_language_does(client, personas, questioned):
    client.force_login(personas["secretariat"])
    url = reverse("backoffice:detail", args=[questioned.reference])

    with time_machine.travel(SEEN, tick=False):
        french = text(client.get(url))
    assert '<time datetime="2026-12-03T14:05:00+01:00">3 décembre 2026 à 14 h 05</time>' in french  # history
    assert 'title="24 novembre 2026 à 11 h 00">24/11/2026</time>' in french  # the stage table, exact in its title
    assert "Déposée le 20 novembre 2026 — échéance le 20 juin 2027" in french
    assert "9 jours<br><span class=\"fr-text--xs\">9,1 j</span>" in french  # 24 Nov 11:00 to 3 Dec 14:05

    with time_machine.travel(SEEN, tick=False):
        english = text(in_english(client).get(url))
    assert '<time datetime="2026-12-03T14:05:00+01:00">3 December 2026, 2:05 pm</time>' in english
    assert 'title="24 November 2026, 11:00 am">24 Nov 2026</time>' in english
    assert "Submitted on 20 November 2026 — deadline 20 June 2027" in english
    assert "9 days<br><span class=\"fr-text--xs\">9.1 d</span>" in english
    assert_no_american_times(english)


@pytest.mark.usefixtures("headline_history")
def test_the_dashboard_says_when_its_figures_were_computed_in_each_language(client, personas):
    client.force_login(personas["management"])
    with time_machine.travel(ASKED, tick=False):
        french = text(client.get(reverse("backoffice:delays")))
        english = text(in_english(client).get(reverse("backoffice:delays")))

    assert "Chiffres calculés le 3 décembre 2026 à 14 h 05." in french
    assert re.search(r'id="kpi-delay"><p class="hdh-kpi__value">\d+,\d mois</p>', french)
    assert "Figures calculated on 3 December 2026, 2:05 pm." in english
    assert re.search(r'id="kpi-delay"><p class="hdh-kpi__value">\d+\.\d months</p>', english)
    assert_no_american_times(english)

