"""The back office's documents: the same receipt, dossier PDF and ZIP as the applicant's, for the
reviewers who may read the request (its page's visibility)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from access_requests import services
from tests.backoffice.helpers import backoffice_settings  # noqa: F401  (autouse)
from tests.conftest import datasets, use_private_media
from tests.documents.helpers import archive, pdf_text, response_bytes

pytestmark = pytest.mark.django_db

DOCUMENTS = {"receipt": "application/pdf", "dossier_pdf": "application/pdf", "dossier_zip": "application/zip"}
PERSONAS = ["anonymous", "applicant", "colleague", "outsider", "secretariat", "cesrees", "cnil", "cnam", "curie",
            "platform", "management", "superuser"]


@pytest.fixture
def dossier(personas, settings, tmp_path, monkeypatch):
    """A submitted SNDS + OSCOUR request (CNAM is concerned, Curie is not) with one attachment."""
    use_private_media(settings, tmp_path, monkeypatch)
    applicant = personas["applicant"]
    draft = services.create_draft(actor=applicant, title="Parcours de soins après un AVC",
                                  datasets=datasets("snds", "oscour"))
    services.add_attachment(
        request_id=draft.pk, actor=applicant, kind="protocol",
        uploaded=SimpleUploadedFile("protocole.pdf", b"%PDF-1.4\n% protocole\n", content_type="application/pdf"))
    return services.submit(request_id=draft.pk, actor=applicant)


def url(name: str, request) -> str:
    return reverse(f"backoffice:{name}", args=[request.reference])


def expected_status(who: str) -> int:
    if who == "anonymous":
        return 302
    if who in {"applicant", "colleague", "outsider"}:
        return 403  # not a back-office user: the portal serves the applicant's documents
    if who == "curie":
        return 404  # a data holder whose datasets the request does not ask for
    return 200


def test_every_role_against_every_document(client, personas, dossier):
    mismatches = []
    for who in PERSONAS:
        client.logout()
        if who != "anonymous":
            client.force_login(personas[who])
        for name, content_type in DOCUMENTS.items():
            response = client.get(url(name, dossier))
            if response.status_code != expected_status(who):
                mismatches.append((who, name, response.status_code))
            elif response.status_code == 200:
                assert response["Content-Type"] == content_type
                assert response["Content-Disposition"].startswith("attachment; filename=")
            elif who == "anonymous":
                assert response["Location"] == f"/accounts/login/?next={url(name, dossier)}"
    assert mismatches == []


def test_the_reviewer_gets_the_applicant_s_documents_with_nothing_internal(client, personas, dossier):
    note = SimpleUploadedFile("avis-interne.pdf", b"%PDF-1.4\n% avis interne\n", content_type="application/pdf")
    services.post_message(request_id=dossier.pk, actor=personas["secretariat"], body="Vérifier le protocole", internal=True,
                          uploads=[note], acting_as=services.REVIEWER_ROLES)
    client.force_login(personas["secretariat"])
    receipt = pdf_text(response_bytes(client.get(url("receipt", dossier))))
    assert "Accusé de réception" in receipt and dossier.reference in receipt
    text = pdf_text(response_bytes(client.get(url("dossier_pdf", dossier))))
    assert "protocole.pdf" in text and "Vérifier le protocole" not in text
    assert "avis-interne" not in text  # an internal note's document is the reviewers' alone
    with archive(response_bytes(client.get(url("dossier_zip", dossier)))) as zipped:
        assert zipped.namelist() == ["dossier.pdf", "pieces/01-protocole.pdf", "manifeste.txt"]
        assert "avis-interne" not in zipped.read("manifeste.txt").decode()


def test_the_detail_page_links_to_the_documents(client, personas, dossier):
    client.force_login(personas["cesrees"])
    html = client.get(reverse("backoffice:detail", args=[dossier.reference])).content.decode()
    for name in DOCUMENTS:
        assert f'href="{url(name, dossier)}" download' in html
    assert url("receipt", dossier).endswith("/accuse-de-reception.pdf")


def test_a_request_withdrawn_before_submission_offers_no_receipt(client, personas, make_request):
    request = make_request("withdrawn")
    client.force_login(personas["secretariat"])
    html = client.get(reverse("backoffice:detail", args=[request.reference])).content.decode()
    assert url("receipt", request) not in html and url("dossier_pdf", request) in html
    assert client.get(url("receipt", request)).status_code == 404


def test_a_reviewer_s_document_is_signed_by_its_role_never_the_reviewer_s_name(client, personas, dossier):
    secretariat = personas["secretariat"]
    secretariat.first_name, secretariat.last_name = "Sophie", "Bernard"
    secretariat.save()
    sent = SimpleUploadedFile("modele-convention.pdf", b"%PDF-1.4\n% modele\n", content_type="application/pdf")
    services.post_message(request_id=dossier.pk, actor=secretariat, body="Voici le modèle de convention.",
                          uploads=[sent], acting_as=services.REVIEWER_ROLES)
    client.force_login(personas["applicant"])
    text = pdf_text(response_bytes(client.get(reverse("portal:dossier_pdf", args=[dossier.reference]))))
    assert "modele-convention.pdf" in text and "Secrétariat du HDH" in text
    assert "Bernard" not in text
