"""The submission's email carries the receipt PDF, in the recipient's language."""

from __future__ import annotations

import pytest

from access_requests import services
from access_requests.workflow import State
from notifications.models import OutboxMessage
from tests.conftest import paris
from tests.documents.helpers import pdf_text

pytestmark = pytest.mark.django_db


def outbox_row(request, action: str, user) -> OutboxMessage:
    event = request.events.get(action=action)
    return OutboxMessage.objects.get(key=f"event:{event.pk}:applicant:{user.pk}")


def test_the_submission_s_email_row_has_the_receipt_attached(make_request, personas):
    request = make_request(State.DRAFT)
    request = services.submit(request_id=request.pk, actor=personas["applicant"])

    row = outbox_row(request, "submit", personas["applicant"])
    assert row.attachment_name == f"accuse-de-reception-{request.reference}.pdf"
    assert row.attachment_mimetype == "application/pdf"
    text = pdf_text(bytes(row.attachment_content))
    assert "Accusé de réception" in text and request.reference in text
    assert "L'accusé de réception de votre demande est joint à ce message (PDF)" in row.text
    assert "L'accusé de réception de votre demande est joint à ce message (PDF)" in row.html
    # Only the submission's email to the applicant: not the queue's, not the next steps'.
    queue = OutboxMessage.objects.exclude(pk=row.pk).get()
    assert queue.attachment_name == "" and bytes(queue.attachment_content) == b""
    services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])
    assert outbox_row(request, "forward_to_cesrees", personas["applicant"]).attachment_name == ""


def test_the_sent_email_carries_the_pdf_with_the_dates_in_the_recipient_s_language(player, smtp, personas, english):
    profile = personas["applicant"].profile
    profile.language = "en"
    profile.save()

    player.story((paris(2025, 1, 6), "submit"))

    message = smtp.to("porteur@inserm.example")[-1]
    assert message.get_content_type() == "multipart/mixed"
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "receipt-HDH-2025-0001.pdf"
    text = pdf_text(attachment.get_content())
    assert "Acknowledgement of receipt" in text and "HDH-2025-0001" in text
    assert "Submitted on 6 January 2025, 10:00 am" in text
    assert "Expected date of the tacit decision 18 February 2025" in text
    plain = message.get_body(preferencelist=("plain",)).get_content()
    assert "The acknowledgement of receipt of your request is attached to this message (PDF)" in plain
