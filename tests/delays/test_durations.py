"""Durations as a person says them (delays.durations.humanise_days): one rounding for every page and
email, in French and in English, never "0 jours" for a stay of a few hours."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from delays.durations import humanise_days

pytestmark = pytest.mark.usefixtures("language_restored")

# days -> (French, English)
CASES = [
    (0.0, "moins d'un jour", "less than a day"),
    (0.2, "moins d'un jour", "less than a day"),  # five hours: not "0 jours"
    (0.99, "moins d'un jour", "less than a day"),
    (1.0, "1 jour", "1 day"),
    (1.4, "1 jour", "1 day"),
    (1.5, "2 jours", "2 days"),  # rounded half up
    (2, "2 jours", "2 days"),
    (7, "7 jours", "7 days"),
    (13, "13 jours", "13 days"),
    (13.4, "13 jours", "13 days"),
    (13.5, "2 semaines", "2 weeks"),  # 14 days once rounded: weeks
    (14, "2 semaines", "2 weeks"),
    (17, "2 semaines", "2 weeks"),
    (18, "3 semaines", "3 weeks"),
    (52.2, "7 semaines", "7 weeks"),
    (60, "9 semaines", "9 weeks"),  # still weeks up to 60 days
    (61, "2 mois", "2 months"),  # then months
    (187.2, "6 mois", "6 months"),
    (335, "11 mois", "11 months"),
    (360, "1 an", "1 year"),  # 11.8 months: a year
    (365, "1 an", "1 year"),
    (400, "1 an et 1 mois", "1 year and 1 month"),
    (548, "1 an et 6 mois", "1 year and 6 months"),  # the Senate's 18 months
    (730.5, "2 ans", "2 years"),
    (800, "2 ans et 2 mois", "2 years and 2 months"),
]


@pytest.mark.parametrize(("days", "french", "english"), CASES)
def test_a_duration_reads_as_a_person_says_it_in_french_and_in_english(days, french, english):
    assert humanise_days(days, "fr") == french
    assert humanise_days(days, "en") == english


def test_without_a_language_it_speaks_the_active_one():
    with translation.override("en"):
        assert humanise_days(3) == "3 days"
    with translation.override("fr"):
        assert humanise_days(3) == "3 jours"


def test_nothing_to_say_for_no_duration():
    assert humanise_days(None, "fr") == ""


def test_the_template_filter_says_the_same_in_the_page_language():
    template = Template("{% load durations %}{{ days|duration }}|{{ nothing|duration|default:'—' }}")
    with translation.override("fr"):
        assert template.render(Context({"days": 45, "nothing": None})) == "6 semaines|—"
    with translation.override("en"):
        assert template.render(Context({"days": 45, "nothing": None})) == "6 weeks|—"
