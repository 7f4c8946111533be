"""The receipt and the dossier in a real browser: the applicant submits, then downloads the receipt
from the request page; the PDF opens and holds the dates the page shows.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from django.utils import translation
from django.utils.formats import date_format

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.workflow import State
from delays.clock import request_clock
from tests.conftest import PASSWORD, complete_dossier, datasets, use_private_media
from tests.documents.helpers import pdf_text
from tests.e2e.conftest import login, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _complete_dossier_required(production_completeness):
    """The dossier the production settings require (texts and two attachments)."""


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path, monkeypatch):
    return use_private_media(settings, tmp_path, monkeypatch)


@pytest.fixture
def draft(personas):
    applicant = personas["applicant"]
    request = services.create_draft(actor=applicant, title="Cancers du rein : parcours de soins et survie",
                                    datasets=datasets("snds", "oscour"))
    complete_dossier(request, applicant)
    return request


def expected_tacit_date(request: AccessRequest, language: str) -> str:
    """The expected tacit date as delays gives it (the receipt asks the same clock), in words."""
    submitted = request_clock(request, request.events.get(action="submit").at, fresh=True)
    with translation.override(language):
        return date_format(submitted.periods_ahead()[0].tacit_effect_date, "DATE_FORMAT")


def download(page, selector: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.click(selector)
    item = info.value
    assert item.failure() is None
    return item.suggested_filename, Path(item.path()).read_bytes()


def test_the_applicant_submits_then_downloads_the_receipt_which_holds_the_dates_of_the_page(page, draft):
    login(page, "porteur@inserm.example", PASSWORD)
    page.goto(f"/portal/requests/{draft.reference}/")
    assert page.locator("#receipt-link").count() == 0  # a draft has none yet
    page.locator("label[for='id_certify']").click()
    page.click("button:has-text('Déposer la demande')")
    assert page.locator("text=déposée. Le secrétariat du HDH").is_visible()
    request = AccessRequest.objects.get(pk=draft.pk)
    assert request.state == State.SUBMITTED

    link = page.locator("#receipt-link")
    assert link.get_attribute("href").endswith(f"/{request.reference}/accuse-de-reception.pdf")
    assert serious_accessibility_violations(page) == []
    screenshot(page, "portal-documents")
    submitted_on = page.locator("dt:text-is('Déposée le') + dd").inner_text().strip()
    due = page.locator("#current-clock strong").inner_text().strip()
    target = page.locator("dt:text-is('Objectif de 7 mois : échéance') + dd").inner_text().split("\n")[0].strip()

    name, data = download(page, "#receipt-link")
    assert name == f"accuse-de-reception-{request.reference}.pdf"
    text = pdf_text(data)  # pypdf opens it
    assert "Accusé de réception" in text and request.reference in text
    assert f"Déposée le {submitted_on} à " in text
    assert f"7 jours ouvrés {due} Pas de décision implicite" in text
    tacit = expected_tacit_date(request, "fr")
    assert f"Date prévue de la décision implicite {tacit} : sans décision d'ici là" in text
    assert f"Objectif de 7 mois : échéance {target}" in text

    # The confirmation email carried the same receipt.
    (confirmation,) = [m for m in mail.outbox if m.subject.endswith("demande déposée")]
    ((filename, content, mimetype),) = confirmation.attachments
    assert (filename, mimetype) == (name, "application/pdf")
    assert pdf_text(content).split(" · Accusé de réception · produit le")[0] == text.split(
        " · Accusé de réception · produit le")[0]

    # The dossier and its documents, from the same box.
    name, data = download(page, "#dossier-zip-link")
    assert name == f"dossier-{request.reference}.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        assert zipped.namelist() == ["dossier.pdf", "pieces/01-protocol.pdf", "pieces/02-data_management_plan.pdf",
                                     "manifeste.txt"]


def test_an_applicant_reading_in_english_gets_an_english_receipt(page, draft, personas):
    services.submit(request_id=draft.pk, actor=personas["applicant"])
    login(page, "porteur@inserm.example", PASSWORD)
    page.goto(f"/portal/requests/{draft.reference}/")
    page.click("header button:has-text('English')")  # the site's language switch
    assert page.locator("h2:text-is('Documents')").is_visible()
    submitted_on = page.locator("dt:text-is('Submitted on') + dd").inner_text().strip()

    name, data = download(page, "#receipt-link")
    assert name == f"receipt-{draft.reference}.pdf"
    text = pdf_text(data)
    assert "Acknowledgement of receipt" in text and f"Submitted on {submitted_on}, " in text
    assert f"Expected date of the tacit decision {expected_tacit_date(draft, 'en')}: " in text
    assert "Accusé" not in text
