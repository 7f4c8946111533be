"""The thread of a request (services.messages): who writes on which side, internal notes,
attachments through the dossier's checks and quarantine, information requests and answers as
messages, read receipts, and the claim of the batched emails."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from access_requests import services
from access_requests.exceptions import ActionNotPermitted, IllegalTransition, InvalidInput, NotNow
from access_requests.models import Attachment, Event, Message, MessageKind, MessageReceipt, ScanStatus
from access_requests.workflow import REVIEWER_ROLES, Role, State
from tests.access_requests.conftest import stored_files
from tests.clamd import EICAR
from tests.conftest import SAMPLE_PDF

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _storage(attachment_storage):
    return attachment_storage


def pdf(name: str = "note.pdf", content: bytes = SAMPLE_PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


# --- who writes, on which side ---------------------------------------------------------------------
def test_the_applicants_team_and_the_reviewers_write_each_on_their_side(make_request, personas):
    request = make_request(State.CESREES_REVIEW)
    asked = services.post_message(request_id=request.pk, actor=personas["cesrees"], body="Le rapporteur est désigné.")
    answered = services.post_message(request_id=request.pk, actor=personas["colleague"], body="Merci.")

    assert (asked.role, asked.from_applicant, asked.kind, asked.internal) == (Role.CESREES, False, "message", False)
    assert (answered.role, answered.from_applicant) == (Role.APPLICANT, True)
    assert asked.notified_at is None and answered.notified_at is None  # the batch will email them
    assert not Event.objects.filter(request=request, action="message").exists()  # no change of state


def test_an_administrator_writes_on_the_side_of_the_channel_it_uses(make_request, personas):
    request = make_request(State.SUBMITTED)
    in_portal = services.post_message(request_id=request.pk, actor=personas["superuser"], body="Côté demandeur.",
                                      acting_as={Role.APPLICANT})
    in_backoffice = services.post_message(request_id=request.pk, actor=personas["superuser"], body="Côté instruction.",
                                          acting_as=REVIEWER_ROLES)
    assert (in_portal.role, in_backoffice.role) == (Role.APPLICANT, Role.ADMINISTRATOR)


@pytest.mark.parametrize("who", ["outsider", "management", "curie"])
def test_someone_who_takes_no_part_in_the_thread_cannot_write_in_it(make_request, personas, who):
    request = make_request(State.SUBMITTED)
    with pytest.raises(ActionNotPermitted):
        services.post_message(request_id=request.pk, actor=personas[who], body="Bonjour")
    assert not Message.objects.exists()


def test_only_reviewers_write_internal_notes(make_request, personas):
    request = make_request(State.SUBMITTED)
    note = services.post_message(request_id=request.pk, actor=personas["secretariat"], body="À relire.", internal=True)
    assert note.internal and note.role == Role.SECRETARIAT
    with pytest.raises(ActionNotPermitted):
        services.post_message(request_id=request.pk, actor=personas["applicant"], body="Note ?", internal=True)
    # In the portal's channel, an administrator is on the applicant's side: no internal note there.
    with pytest.raises(ActionNotPermitted):
        services.post_message(request_id=request.pk, actor=personas["superuser"], body="Note ?", internal=True,
                              acting_as={Role.APPLICANT})
    assert list(Message.objects.values_list("body", flat=True)) == ["À relire."]


def test_the_thread_opens_when_the_request_is_submitted(make_request, personas):
    draft = make_request(State.DRAFT)
    with pytest.raises(NotNow):
        services.post_message(request_id=draft.pk, actor=personas["applicant"], body="Une question avant le dépôt")


def test_an_empty_message_is_refused(make_request, personas):
    request = make_request(State.SUBMITTED)
    with pytest.raises(InvalidInput):
        services.post_message(request_id=request.pk, actor=personas["applicant"], body="   ")


# --- attachments: the dossier's checks and quarantine ------------------------------------------------
def test_a_message_carries_its_documents_apart_from_the_dossiers(make_request, personas):
    request = make_request(State.SUBMITTED)
    message = services.post_message(request_id=request.pk, actor=personas["applicant"], body="Protocole corrigé.",
                                    uploads=[pdf("protocole v2.pdf"), pdf("annexe.pdf")])
    names = sorted(message.attachments.values_list("original_name", flat=True))
    assert names == ["annexe.pdf", "protocole-v2.pdf"]  # the dossier's safe names
    assert set(Attachment.objects.filter(request=request).values_list("message_id", flat=True)) == {message.pk}


def test_a_message_whose_document_fails_the_checks_stores_nothing(make_request, personas, attachment_storage):
    request = make_request(State.SUBMITTED)
    with pytest.raises(InvalidInput, match="PDF, ODT ou DOCX"):
        services.post_message(request_id=request.pk, actor=personas["applicant"], body="Voici.",
                              uploads=[pdf(), SimpleUploadedFile("macro.exe", b"MZ\x90\x00", content_type="x")])
    assert not Message.objects.exists() and not Attachment.objects.exists()
    assert stored_files(attachment_storage) == []


def test_a_message_holds_five_documents_at_most(make_request, personas):
    request = make_request(State.SUBMITTED)
    with pytest.raises(InvalidInput, match="au plus 5"):
        services.post_message(request_id=request.pk, actor=personas["applicant"], body="Voici.",
                              uploads=[pdf(f"{n}.pdf") for n in range(6)])
    assert not Message.objects.exists()


def test_a_messages_documents_wait_in_quarantine_and_an_infected_one_loses_its_content(
        make_request, personas, settings, clamd, django_capture_on_commit_callbacks):
    settings.HDH_CLAMAV_SOCKET = clamd.socket_path
    request = make_request(State.SUBMITTED)
    infected = b"%PDF-1.4\n%" + EICAR + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    with django_capture_on_commit_callbacks(execute=False) as scans:
        message = services.post_message(request_id=request.pk, actor=personas["applicant"], body="Voici.",
                                        uploads=[pdf("sain.pdf"), pdf("virus.pdf", infected)])
    assert set(message.attachments.values_list("scan_status", flat=True)) == {ScanStatus.PENDING}
    for callback in scans:
        callback()  # the scans enqueued after the commit (eager tasks)
    statuses = dict(message.attachments.values_list("original_name", "scan_status"))
    assert statuses == {"sain.pdf": ScanStatus.CLEAN, "virus.pdf": ScanStatus.INFECTED}
    virus = Attachment.objects.get(original_name="virus.pdf")
    assert not virus.file.storage.exists(virus.file.name)


# --- information requests and answers ---------------------------------------------------------------
def test_an_information_request_is_a_message_that_stops_the_clock_and_the_answer_resumes_it(make_request, personas):
    request = make_request(State.CESREES_REVIEW)
    services.request_information(request_id=request.pk, actor=personas["cesrees"], reason="incorrect",
                                 question="Ce chiffre est-il exact ?")
    asked = Message.objects.get(request=request)
    event = Event.objects.get(request=request, action="request_information")
    assert (asked.kind, asked.role, asked.body, asked.event, asked.internal) == (
        MessageKind.INFORMATION_REQUEST, Role.CESREES, "Ce chiffre est-il exact ?", event, False)
    assert event.payload["reason"] == "incorrect" and event.to_state == State.AWAITING_APPLICANT
    assert asked.notified_at == event.at  # the transition's own email tells the applicant

    resumed = services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Oui, corrigé.",
                                          uploads=[pdf("tableau.pdf")])
    assert resumed.state == State.CESREES_REVIEW
    answer = Message.objects.get(request=request, kind=MessageKind.ANSWER)
    assert (answer.role, answer.body, answer.event.action) == (Role.APPLICANT, "Oui, corrigé.", "resume")
    assert list(answer.attachments.values_list("original_name", flat=True)) == ["tableau.pdf"]


def test_a_refused_answer_writes_no_message_and_stores_no_document(make_request, personas, attachment_storage):
    request = make_request(State.CESREES_REVIEW)
    with pytest.raises(IllegalTransition):  # not awaiting the applicant
        services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Oui.",
                                    uploads=[pdf()])
    assert not Message.objects.exists() and stored_files(attachment_storage) == []


# --- read receipts ---------------------------------------------------------------------------------
def test_reading_leaves_one_receipt_per_reader_never_for_ones_own_message(make_request, personas):
    request = make_request(State.SUBMITTED)
    note = services.post_message(request_id=request.pk, actor=personas["secretariat"], body="Note.", internal=True)
    sent = services.post_message(request_id=request.pk, actor=personas["secretariat"], body="Bonjour.")
    ids = [note.pk, sent.pk]

    assert services.mark_read(request_id=request.pk, actor=personas["applicant"], message_ids=ids,
                              acting_as={Role.APPLICANT}) == 1  # never the internal note
    assert services.mark_read(request_id=request.pk, actor=personas["applicant"], message_ids=ids,
                              acting_as={Role.APPLICANT}) == 0  # once
    assert services.mark_read(request_id=request.pk, actor=personas["secretariat"], message_ids=ids) == 0  # author
    assert services.mark_read(request_id=request.pk, actor=personas["management"], message_ids=ids) == 0
    assert services.mark_read(request_id=request.pk, actor=personas["cesrees"], message_ids=ids) == 2
    receipts = set(MessageReceipt.objects.values_list("message_id", "user_id", "role"))
    assert receipts == {(sent.pk, personas["applicant"].pk, Role.APPLICANT),
                        (note.pk, personas["cesrees"].pk, Role.CESREES), (sent.pk, personas["cesrees"].pk, Role.CESREES)}


# --- the claim of the batched emails ------------------------------------------------------------------
def test_messages_are_claimed_once_however_often_the_claim_runs(make_request, personas):
    request = make_request(State.SUBMITTED)
    for n in range(3):
        services.post_message(request_id=request.pk, actor=personas["applicant"], body=f"Message {n}")
    now = timezone.now()
    assert services.requests_with_unnotified_messages(older_than=now) == [request.pk]
    with transaction.atomic():
        first = services.claim_unnotified(request_id=request.pk, now=now)
    with transaction.atomic():
        second = services.claim_unnotified(request_id=request.pk, now=now)
    assert [m.body for m in first] == ["Message 0", "Message 1", "Message 2"] and second == []
    assert services.requests_with_unnotified_messages(older_than=now) == []

