"""The weekly email's headline: the figure every screen gives (delays.statistics.headline), this
quarter, last quarter and over all periods; 0 % for a quarter whose deliveries were all late,
"aucune livraison" / "no deliveries" for a quarter without any."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import floatformat
from django.utils.translation import override

from delays import statistics
from delays.durations import humanise_days
from notifications import weekly_report
from tests.delays.test_headline import AS_OF, headline_history, paris  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("headline_history")


def rendered(as_of, language="fr"):
    content = weekly_report.build_content(as_of)
    return content, weekly_report.render_report(content, language=language)[0]


def test_the_email_gives_the_headline_of_each_delivery_quarter_and_of_all_periods():
    content, email = rendered(AS_OF)

    assert (content.this_quarter["label"], content.this_quarter["delivered"], content.this_quarter["share"]) == (
        "T2 2025", 2, 1.0)
    assert (content.last_quarter["label"], content.last_quarter["delivered"], content.last_quarter["share"]) == (
        "T1 2025", 2, 0.0)
    assert "Livrées dans les 7 mois (hors temps du demandeur), par trimestre de livraison :" in email.text
    assert "- ce trimestre (T2 2025) : 100 % (2 sur 2)" in email.text
    assert "- trimestre précédent (T1 2025) : 0 % (0 sur 2)" in email.text  # all late: 0 %, still shown
    assert "- toutes périodes : 60 % (3 sur 5)" in email.text
    assert "Livrées dans les 7 mois (hors temps du demandeur)" in email.html
    assert "trimestre précédent (T1 2025) : <strong>0&nbsp;%</strong>" in email.html
    assert "part livrée dans les 7 mois, toutes périodes : 60 %" in email.html
    assert email.subject.endswith(": 100 % livrées en 7 mois ce trimestre")
    figures = content.all_time
    mean, median, p90 = (humanise_days(figures[k], "fr") for k in ("mean_days", "median_days", "p90_days"))
    with override("fr"):
        months = floatformat(figures["mean_days"] / weekly_report.DAYS_PER_MONTH, 1)  # as the template rounds
    assert (f"Délai d'accès hors temps du demandeur (demandes livrées, toutes périodes) : moyenne {mean} ({months} mois), "
            f"médiane {median}, 90e centile {p90} ; objectif 7 mois") in email.text
    assert "Délai moyen d'accès, hors temps du demandeur" in email.html


def test_a_quarter_without_delivery_says_so_and_one_all_late_says_0_percent():
    content, email = rendered(paris(2025, 3, 20, 8))

    assert (content.last_quarter["label"], content.last_quarter["delivered"], content.last_quarter["share"]) == (
        "T4 2024", 0, None)
    assert (content.this_quarter["delivered"], content.this_quarter["share"]) == (2, 0.0)
    assert "- trimestre précédent (T4 2024) : aucune livraison" in email.text
    assert "trimestre précédent (T4 2024) : <strong>aucune livraison</strong>" in email.html
    assert "- ce trimestre (T1 2025) : 0 % (0 sur 2)" in email.text
    assert email.subject.endswith(": 0 % livrées en 7 mois ce trimestre")


def test_in_english_a_quarter_without_delivery_says_no_deliveries(english):
    _content, email = rendered(paris(2025, 3, 20, 8), language="en")

    assert "Delivered within 7 months (applicant time excluded), by quarter of delivery:" in email.text
    assert "- last quarter (T4 2024): no deliveries" in email.text
    assert "- this quarter (T1 2025): 0 % (0 of 2)" in email.text
    assert "- all periods: 33 % (1 of 3)" in email.text
    assert "Mean access delay, applicant time excluded" in email.html
    _content, before_any = rendered(paris(2024, 7, 1, 8), language="en")
    assert before_any.subject.endswith("no deliveries this quarter")
    assert "Access delay, applicant time excluded (delivered requests, all periods): no deliveries" in before_any.text


def test_the_email_and_the_statistics_agree_on_the_quarters():
    content = weekly_report.build_content(AS_OF)

    series = statistics.headline_by_quarter(statistics.delivered_target_rows(AS_OF))
    assert {k: content.last_quarter[k] for k in series[-2]} == series[-2]
    assert content.this_quarter["end"] == AS_OF.date()  # this quarter so far
