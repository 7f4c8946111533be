"""The thread on the portal's request page: the applicant's side never sees an internal note nor
its documents, another organisation gets a 404, reading leaves receipts, a message and an
answer carry documents, and the reviewers are named by their role only."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services
from access_requests.models import Message, MessageReceipt
from access_requests.workflow import REVIEWER_ROLES, Role, State
from portal import selectors
from tests.conftest import make_user, with_form_token
from tests.portal.conftest import upload

pytestmark = pytest.mark.django_db
NOTE = "Le protocole semble fragile : à revoir en comité."


@pytest.fixture
def discussed(make_request, personas):
    """Submitted, with a message of the secretariat, an internal note with a document, and the
    applicant's message."""
    request = make_request(State.SUBMITTED)
    services.post_message(request_id=request.pk, actor=personas["secretariat"], body="Merci de préciser la durée.")
    services.post_message(request_id=request.pk, actor=personas["cesrees"], body=NOTE, internal=True,
                          uploads=[upload("avis-interne.pdf")])
    services.post_message(request_id=request.pk, actor=personas["applicant"], body="Cinq ans.",
                          acting_as={Role.APPLICANT})
    return request


def page(client, request, who=None, language="fr"):
    return client.get(reverse("portal:detail", args=[request.reference]), HTTP_ACCEPT_LANGUAGE=language)


# --- visibility -------------------------------------------------------------------------------------
def test_the_applicant_never_sees_an_internal_note_in_the_selector_or_the_page(client, personas, discussed):
    bodies = [row.message.body for row in selectors.thread(discussed)]
    assert bodies == ["Merci de préciser la durée.", "Cinq ans."]
    client.force_login(personas["colleague"])
    html = page(client, discussed).content.decode()
    assert "Merci de préciser la durée." in html and "Cinq ans." in html
    assert NOTE not in html and "avis-interne.pdf" not in html


def test_an_internal_notes_document_cannot_be_downloaded_by_the_applicant(client, personas, discussed):
    note = Message.objects.get(internal=True)
    document = note.attachments.get()
    client.force_login(personas["applicant"])
    assert client.get(reverse("portal:download", args=[document.pk])).status_code == 404
    client.force_login(personas["secretariat"])
    assert client.get(reverse("backoffice:attachment", args=[document.pk])).status_code == 200


def test_another_organisation_gets_a_404_for_the_page_the_post_and_a_document(client, personas, discussed):
    document = services.post_message(request_id=discussed.pk, actor=personas["applicant"], body="Annexe.",
                                     uploads=[upload("annexe.pdf")]).attachments.get()
    client.force_login(personas["outsider"])
    assert page(client, discussed).status_code == 404
    response = client.post(reverse("portal:post_message", args=[discussed.reference]),
                           with_form_token(client, {"body": "Intrusion"}))
    assert response.status_code == 404
    assert client.get(reverse("portal:download", args=[document.pk])).status_code == 404
    assert not Message.objects.filter(body="Intrusion").exists()


def test_the_reviewers_are_named_by_their_role_and_the_applicants_team_by_name(client, personas, discussed):
    client.force_login(personas["applicant"])
    thread = page(client, discussed).content.decode().split('id="messages"')[1].split("</section>")[0]
    assert "<strong>Secrétariat du HDH</strong>" in thread
    assert "secretariat@hdh.example" not in thread
    assert "<strong>porteur@inserm.example (Inserm U1018)</strong>" in thread


# --- writing ----------------------------------------------------------------------------------------
def test_the_applicant_writes_a_message_with_a_document(client, personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    client.force_login(personas["applicant"])
    response = client.post(reverse("portal:post_message", args=[request.reference]), with_form_token(client, {
        "body": "Voici le protocole révisé.", "documents": [upload("protocole v3.pdf"), upload("annexe.pdf")]}))
    assert response.status_code == 302
    assert response["Location"].endswith(f"/portal/requests/{request.reference}/#messages")
    message = Message.objects.get()
    assert (message.role, message.internal, message.body) == (Role.APPLICANT, False, "Voici le protocole révisé.")
    assert sorted(message.attachments.values_list("original_name", flat=True)) == ["annexe.pdf", "protocole-v3.pdf"]
    html = page(client, request).content.decode()
    assert "protocole-v3.pdf" in html and "Pas encore lu par les équipes d'instruction" in html


def test_an_empty_message_or_a_hostile_file_name_is_refused_and_shown_again(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["applicant"])
    url = reverse("portal:post_message", args=[request.reference])
    response = client.post(url, with_form_token(client, {"body": ""}))
    assert response.status_code == 400 and "Rédigez votre message avant de l&#x27;envoyer." in response.content.decode()
    response = client.post(url, with_form_token(client, {"body": "Voici", "documents": [upload("<script>.pdf")]}))
    assert response.status_code == 400 and "Le nom du fichier n&#x27;est pas accepté" in response.content.decode()
    assert not Message.objects.exists()


def test_a_draft_has_no_thread_form_yet(client, personas, make_request):
    draft = make_request(State.DRAFT)
    client.force_login(personas["applicant"])
    html = page(client, draft).content.decode()
    assert "La messagerie avec les équipes d'instruction s'ouvre au dépôt de la demande." in html
    assert reverse("portal:post_message", args=[draft.reference]) not in html


def test_the_answer_to_an_information_request_carries_documents_and_resumes_the_review(client, personas,
                                                                                       make_request):
    request = make_request(State.AWAITING_APPLICANT, paused_from=State.CESREES_REVIEW)
    client.force_login(personas["applicant"])
    html = page(client, request).content.decode()
    answer_url = reverse("portal:answer", args=[request.reference])
    assert f'enctype="multipart/form-data" action="{answer_url}"' in html
    response = client.post(reverse("portal:answer", args=[request.reference]), with_form_token(client, {
        "expected_state": State.AWAITING_APPLICANT, "answer": "Lettre jointe.", "documents": [upload("lettre.pdf")]}))
    assert response.status_code == 302
    answer = Message.objects.get(kind="answer")
    assert answer.attachments.get().original_name == "lettre.pdf"
    assert answer.request.state == State.CESREES_REVIEW
    thread = page(client, request).content.decode().split('id="messages"')[1]
    assert "Demande de compléments" in thread and "Votre réponse à la demande de compléments" in thread


# --- read receipts ----------------------------------------------------------------------------------
def test_opening_the_page_marks_what_it_shows_read_and_the_reviewers_reading_is_shown(client, personas, discussed):
    client.force_login(personas["applicant"])
    page(client, discussed)
    read = set(MessageReceipt.objects.filter(user=personas["applicant"]).values_list("message__body", flat=True))
    assert read == {"Merci de préciser la durée."}  # not the note, not their own message

    client.force_login(personas["cesrees"])
    client.get(reverse("backoffice:detail", args=[discussed.reference]))
    client.force_login(personas["applicant"])
    html = page(client, discussed).content.decode()
    mine = html.split("Cinq ans.")[1].split("</li>")[0]
    assert re.search(r"Lu par CESREES le \d", mine), mine


def test_management_reading_the_back_office_leaves_no_receipt(client, personas, discussed):
    client.force_login(personas["management"])
    assert client.get(reverse("backoffice:detail", args=[discussed.reference])).status_code == 200
    assert not MessageReceipt.objects.exists()


# --- cost and language ------------------------------------------------------------------------------
def test_the_thread_costs_the_same_queries_however_long_it_is(personas, make_request):
    request = make_request(State.SUBMITTED)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = selectors.thread(request)
            for row in rows:
                _ = (row.author_label, row.attachments, row.read_by)
        return len(captured)

    for n in range(2):
        services.post_message(request_id=request.pk, actor=personas["applicant"], body=f"m{n}",
                              uploads=[upload(f"{n}.pdf")])
    few = queries()
    for n in range(6):
        author = make_user(f"membre{n}@inserm.example", organisation=personas["applicant"].profile.organisation)
        message = services.post_message(request_id=request.pk, actor=author, body=f"n{n}", uploads=[upload("x.pdf")])
        services.mark_read(request_id=request.pk, actor=personas["secretariat"], message_ids=[message.pk],
                           acting_as=REVIEWER_ROLES)
    assert queries() == few


def test_the_thread_reads_in_english(client, personas, discussed, language_restored):
    client.force_login(personas["cesrees"])
    client.get(reverse("backoffice:detail", args=[discussed.reference]))
    client.force_login(personas["applicant"])
    html = page(client, discussed, language="en").content.decode()
    thread = html.split('id="messages"')[1].split("</section>")[0]
    assert "<h2 id=\"messages-title\">Messages</h2>" in html
    assert "Send the message" in thread and "Write to the review teams" in thread and "Read by CESREES on" in thread
    for french in ("Envoyer le message", "Lu par", "Échangez ici", "Pièces jointes (facultatif)", "Votre message"):
        assert french not in thread, french
