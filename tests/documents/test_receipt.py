"""The receipt PDF: reference, submission, the legal periods with their due dates and the expected
tacit date, all from the delay clock, in French and English, as they stood at the submission."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from access_requests.models import AccessRequest
from access_requests.workflow import Route, State
from delays.clock import request_clock
from documents import builders
from tests.conftest import paris
from tests.documents.helpers import pdf_reader, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(player):
    """Submitted on Monday 6 January 2025 at 10:00, Paris time."""
    return player.story((paris(2025, 1, 6), "submit"))


def test_the_receipt_holds_the_reference_the_submission_and_the_dates_the_portal_page_shows(
        client, applicant, submitted):
    client.force_login(applicant)
    with time_machine.travel(paris(2025, 1, 7), tick=False):
        html = client.get(reverse("portal:detail", args=[submitted.reference])).content.decode()
        text = pdf_text(builders.receipt_pdf(submitted, language="fr"))

    # The page's dates, formatted as the page writes them, are the receipt's.
    assert "<dt>Déposée le</dt><dd>6 janvier 2025</dd>" in html
    assert "Échéance réglementaire de l'étape : <strong>15 janvier 2025</strong>" in html
    assert "7 août 2025" not in html and "6 août 2025" in html  # the 7-month target
    assert "Accusé de réception" in text and "HDH-2025-0001" in text and "Parcours de soins après un AVC" in text
    assert "Déposée le 6 janvier 2025 à 10 h 00" in text
    assert "Objectif de 7 mois : échéance 6 août 2025" in text
    # Completeness (7 working days), then each review as if the stage before used its whole period.
    assert "7 jours ouvrés 15 janvier 2025 Pas de décision implicite" in text
    assert "17 février 2025 au plus tard Avis favorable à compter du 18 février 2025" in text
    assert "17 avril 2025 au plus tard Autorisation à compter du 18 avril 2025" in text
    assert "si l'avis du CESREES est expressément favorable" in text
    assert ("Date prévue de la décision implicite 18 février 2025 : sans décision d'ici là, le silence vaudra "
            "avis favorable (Avis scientifique et éthique du CESREES).") in text
    assert "page de la demande HDH-2025-0001 : http://127.0.0.1:8000/portal/requests/HDH-2025-0001/" in text


def test_the_expected_tacit_date_is_the_clock_s_own(submitted):
    """Asked from delays (RequestClock.periods_ahead), never recomputed: the same date, formatted."""
    clock = request_clock(submitted, paris(2025, 1, 6, 10), fresh=True)
    expected = clock.periods_ahead()[0].tacit_effect_date
    assert expected == dt.date(2025, 2, 18)
    with translation.override("fr"):
        assert date_format(expected, "DATE_FORMAT") in pdf_text(builders.receipt_pdf(submitted, language="fr"))


def test_the_english_receipt_is_all_english(submitted, language_restored):
    text = pdf_text(builders.receipt_pdf(submitted, language="en"))
    assert "Acknowledgement of receipt" in text and "HDH-2025-0001" in text
    assert "Submitted on 6 January 2025, 10:00 am" in text
    assert "Standard route (CESREES then CNIL)" in text
    assert "7 working days 15 January 2025 No tacit decision" in text
    assert "Favourable opinion from 18 February 2025" in text
    assert ("Expected date of the tacit decision 18 February 2025: without a decision by then, silence will count "
            "as favourable opinion (Scientific and ethical opinion of the CESREES).") in text
    assert "7-month target: deadline 6 August 2025" in text
    for french in ("Accusé", "Déposée", "jours ouvrés", "Échéance", "décision implicite", "février"):
        assert french not in text


def test_the_receipt_keeps_the_dates_of_the_submission_whatever_happened_since(player):
    request = player.story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"),
                           (paris(2025, 1, 20), "ask"), (paris(2025, 1, 27), "answer"))
    with time_machine.travel(paris(2025, 3, 1), tick=False):
        text = pdf_text(builders.receipt_pdf(request, language="fr"))
    assert "Déposée le 6 janvier 2025 à 10 h 00" in text
    assert "7 jours ouvrés 15 janvier 2025" in text
    assert "Date prévue de la décision implicite 18 février 2025" in text


def test_a_route_without_review_has_no_tacit_decision(make_request):
    request = make_request(State.SUBMITTED, codes=("esnd",), route=Route.SIMPLIFIED)
    text = pdf_text(builders.receipt_pdf(request, language="fr"))
    assert "Accès simplifié à l'échantillon du SNDS" in text
    assert "15 jours" in text and "Pas de décision implicite" in text
    assert "Cette procédure ne prévoit pas de décision implicite" in text
    assert "CNIL" not in text.replace("(CESREES puis CNIL)", "")


def test_a_draft_has_no_receipt(make_request):
    assert builders.receipt_pdf(make_request(State.DRAFT), language="fr") is None


def test_the_pdf_is_one_page_tagged_titled_and_in_the_reader_s_language(submitted):
    for language, title in (("fr", "Accusé de réception de la demande HDH-2025-0001"),
                            ("en", "Acknowledgement of receipt of request HDH-2025-0001")):
        reader = pdf_reader(builders.receipt_pdf(submitted, language=language))
        assert len(reader.pages) == 1
        root = reader.trailer["/Root"]
        assert reader.metadata.title == title
        assert root["/Lang"] == language
        assert root["/MarkInfo"]["/Marked"]  # tagged (PDF/UA-1): headings, tables, reading order
        fonts = {font.get_object()["/BaseFont"].split("+")[-1] for font in reader.pages[0]["/Resources"]["/Font"].values()}
        assert "Marianne" in fonts, fonts  # the DSFR's font, read from the static files
    assert builders.receipt_filename(submitted, language="fr") == "accuse-de-reception-HDH-2025-0001.pdf"
    assert builders.receipt_filename(submitted, language="en") == "receipt-HDH-2025-0001.pdf"


def test_an_imported_request_has_its_receipt_from_its_history(tmp_path):
    from tests.backoffice.helpers import import_sample

    import_sample(tmp_path, 5)
    request = AccessRequest.objects.exclude(state=State.DRAFT).order_by("reference").first()
    clock = request_clock(request, timezone.now())
    with translation.override("fr"):
        submitted_on = date_format(timezone.localtime(clock.submitted_at), "DATE_FORMAT")
    text = pdf_text(builders.receipt_pdf(request, language="fr"))
    assert request.reference in text and f"Déposée le {submitted_on} à " in text


def test_the_receipt_reads_only_what_it_shows(submitted, django_assert_num_queries):
    with django_assert_num_queries(2):  # the request with its organisation and applicant, its datasets
        request = builders.receipt_request(submitted.pk)
        assert request.applicant.profile is not None and request.organisation is not None
        assert [d.holder.name for d in request.datasets.all()]
    request = AccessRequest.objects.select_related("delay").get(pk=submitted.pk)
    builders.receipt_pdf(request, language="fr")  # the stylesheet parsed, the templates compiled
    # The clock replayed up to the submission (three), the request (two): nothing read lazily.
    with django_assert_num_queries(5):
        assert builders.receipt_pdf(request, language="fr") is not None
