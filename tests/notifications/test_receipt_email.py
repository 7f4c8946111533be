"""The submission's email carries the receipt PDF, in the recipient's language."""

from __future__ import annotations

import pytest
from django.core import mail

from access_requests import services
from access_requests.workflow import State
from hdh_access.lib import emails
from notifications import outbox
from notifications.models import OutboxMessage
from tests.conftest import paris
from tests.documents.helpers import pdf_text

pytestmark = pytest.mark.django_db


def outbox_row(request, action: str, user) -> OutboxMessage:
    event = request.events.get(action=action)
    return OutboxMessage.objects.get(key=f"event:{event.pk}:applicant:{user.pk}")


def test_the_submission_s_email_row_names_the_receipt_drawn_when_it_is_sent(make_request, personas):
    request = make_request(State.DRAFT)
    request = services.submit(request_id=request.pk, actor=personas["applicant"])

    row = outbox_row(request, "submit", personas["applicant"])
    assert row.attachment_name == f"accuse-de-reception-{request.reference}.pdf"
    assert row.attachment_mimetype == "application/pdf"
    # Not drawn in the submission's transaction: when the email is sent.
    assert row.attachment_source == f"receipt:{request.pk}" and bytes(row.attachment_content) == b""
    assert "L'accusé de réception de votre demande est joint à ce message (PDF)" in row.text
    assert "L'accusé de réception de votre demande est joint à ce message (PDF)" in row.html
    # Only the submission's email to the applicant: not the queue's, not the next steps'.
    queue = OutboxMessage.objects.exclude(pk=row.pk).get()
    assert queue.attachment_name == queue.attachment_source == "" and bytes(queue.attachment_content) == b""
    services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])
    later = outbox_row(request, "forward_to_cesrees", personas["applicant"])
    assert later.attachment_name == later.attachment_source == ""

    assert outbox.deliver(row.pk).status == outbox.SENT
    row.refresh_from_db()
    text = pdf_text(bytes(row.attachment_content))
    assert "Accusé de réception" in text and request.reference in text
    (sent,) = [m for m in mail.outbox if m.to == [row.to] and m.attachments]
    assert sent.attachments[0][0] == row.attachment_name and sent.attachments[0][1] == bytes(row.attachment_content)


def test_the_receipt_is_drawn_once_a_retry_sends_the_same_file(make_request, personas, monkeypatch):
    from documents import builders

    request = services.submit(request_id=make_request(State.DRAFT).pk, actor=personas["applicant"])
    row = outbox_row(request, "submit", personas["applicant"])
    drawn = []
    real = builders.receipt_pdf

    def counted(*args, **kwargs):
        drawn.append(kwargs["language"])
        return real(*args, **kwargs)

    monkeypatch.setattr(builders, "receipt_pdf", counted)
    refusals = iter([OSError("connection reset")])

    def flaky_send(message, connection=None):
        error = next(refusals, None)
        if error:
            raise error
        return real_send(message, connection=connection)

    real_send = emails.send
    monkeypatch.setattr(emails, "send", flaky_send)

    assert outbox.deliver(row.pk).status == outbox.RETRY
    first = bytes(OutboxMessage.objects.get(pk=row.pk).attachment_content)
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=None)
    assert outbox.deliver(row.pk).status == outbox.SENT

    assert drawn == ["fr"]
    assert first.startswith(b"%PDF") and bytes(OutboxMessage.objects.get(pk=row.pk).attachment_content) == first


def test_an_attachment_that_cannot_be_drawn_is_retried_then_failed_never_sent_without_it(make_request, personas,
                                                                                        settings):
    settings.HDH_OUTBOX_MAX_ATTEMPTS = 2
    request = services.submit(request_id=make_request(State.DRAFT).pk, actor=personas["applicant"])
    row = outbox_row(request, "submit", personas["applicant"])
    OutboxMessage.objects.filter(pk=row.pk).update(attachment_source="receipt:0")
    sent_before = len(mail.outbox)

    assert outbox.deliver(row.pk).status == outbox.RETRY
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=None)
    assert outbox.deliver(row.pk).status == outbox.FAILED

    row.refresh_from_db()
    assert row.status == "failed" and "DoesNotExist" in row.last_error
    assert len(mail.outbox) == sent_before


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
