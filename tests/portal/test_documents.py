"""The portal's documents: the receipt, the dossier PDF and the ZIP, for whom the request page is for."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from access_requests.workflow import State
from tests.documents.helpers import archive, pdf_text, response_bytes

pytestmark = pytest.mark.django_db

DOCUMENTS = {
    "receipt": ("application/pdf", "accuse-de-reception-{}.pdf"),
    "dossier_pdf": ("application/pdf", "dossier-{}.pdf"),
    "dossier_zip": ("application/zip", "dossier-{}.zip"),
}


def url(name: str, request) -> str:
    return reverse(f"portal:{name}", args=[request.reference])


def test_the_urls_end_as_their_files_do(make_request):
    request = make_request(State.SUBMITTED)
    assert url("receipt", request) == f"/portal/requests/{request.reference}/accuse-de-reception.pdf"
    assert url("dossier_pdf", request) == f"/portal/requests/{request.reference}/dossier.pdf"
    assert url("dossier_zip", request) == f"/portal/requests/{request.reference}/dossier.zip"


@pytest.mark.parametrize("who", ["applicant", "colleague"])
def test_the_applicant_and_a_colleague_of_the_organisation_download_each_document(client, make_request, personas, who):
    request = make_request(State.SUBMITTED)
    client.force_login(personas[who])
    for name, (content_type, filename) in DOCUMENTS.items():
        response = client.get(url(name, request))
        assert response.status_code == 200, name
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"] == f'attachment; filename="{filename.format(request.reference)}"'
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert "no-store" in response["Cache-Control"]
        data = response_bytes(response)
        if name == "dossier_zip":
            assert archive(data).namelist()[0] == "dossier.pdf"
        else:
            assert request.reference in pdf_text(data)


@pytest.mark.parametrize("who", ["outsider", "secretariat", "cnam"])
def test_anyone_else_gets_404(client, make_request, personas, who):
    """Reviewers read documents through the back office, with its own visibility."""
    request = make_request(State.SUBMITTED)
    client.force_login(personas[who])
    for name in DOCUMENTS:
        assert client.get(url(name, request)).status_code == 404, name


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, make_request):
    request = make_request(State.SUBMITTED)
    for name in DOCUMENTS:
        response = client.get(url(name, request))
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url(name, request)}"


def test_a_draft_has_no_receipt_yet_and_says_so_but_has_its_dossier(client, make_request, applicant):
    draft = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.get(url("receipt", draft))
    assert response.status_code == 404
    assert (f"La demande {draft.reference} n'a pas encore été déposée : son accusé de réception sera disponible dès "
            "son dépôt.") in html.unescape(response.content.decode())
    assert client.get(url("dossier_pdf", draft)).status_code == 200
    assert client.get(url("dossier_zip", draft)).status_code == 200


def test_the_request_page_links_to_its_documents(client, make_request, applicant):
    draft, submitted = make_request(State.DRAFT), make_request(State.SUBMITTED)
    client.force_login(applicant)
    page = client.get(reverse("portal:detail", args=[submitted.reference])).content.decode()
    for name in DOCUMENTS:
        assert f'href="{url(name, submitted)}" download' in page
    page = client.get(reverse("portal:detail", args=[draft.reference])).content.decode()
    assert url("receipt", draft) not in page  # not before the submission
    assert f'href="{url("dossier_pdf", draft)}"' in page


def test_the_documents_are_in_the_page_s_language(client, make_request, applicant, language_restored):
    request = make_request(State.SUBMITTED)
    client.force_login(applicant)
    response = client.get(url("receipt", request), HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Disposition"] == f'attachment; filename="receipt-{request.reference}.pdf"'
    text = pdf_text(response_bytes(response))
    assert "Acknowledgement of receipt" in text and "Accusé" not in text
    response = client.get(url("dossier_zip", request), HTTP_ACCEPT_LANGUAGE="en")
    assert archive(response_bytes(response)).namelist()[-1] == "manifest.txt"
