"""hdh_access.lib.emails: the MIME message of an outbox row, sent to a real SMTP server."""

from __future__ import annotations

import io
from email import message_from_bytes
from email.policy import default as default_policy

from PIL import Image

from hdh_access.lib import emails
from notifications.models import OutboxMessage


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "#000091").save(out, format="PNG")
    return out.getvalue()


def row(**extra) -> OutboxMessage:
    values = {"key": "test:1", "to": "direction@hdh.example", "language": "fr", "subject": "Rapport : délais",
              "text": "Bonjour,\nvoici le rapport.", "html": '<p>Bonjour, <img src="cid:chart" alt=""></p>'}
    return OutboxMessage(**{**values, **extra})


def parts(message) -> list[tuple[int, str]]:
    """(depth, content type) of every part, depth first."""
    out = []

    def walk(part, depth):
        out.append((depth, part.get_content_type()))
        if part.is_multipart():
            for child in part.get_payload():
                walk(child, depth + 1)

    walk(message, 0)
    return out


def test_text_and_html_become_alternatives():
    message = emails.build(row()).message()

    assert parts(message) == [(0, "multipart/alternative"), (1, "text/plain"), (1, "text/html")]


def test_an_inline_image_is_a_related_part_of_the_html_and_a_csv_an_attachment():
    message = emails.build(row(inline_image=png(), inline_image_cid="chart", attachment_name="rapport.csv",
                               attachment_mimetype="text/csv", attachment_content=b"reference,state\r\nHDH-1,x\r\n"))
    parsed = message_from_bytes(message.message().as_bytes(), policy=default_policy)

    assert parts(parsed) == [
        (0, "multipart/mixed"),
        (1, "multipart/alternative"), (2, "text/plain"),
        (2, "multipart/related"), (3, "text/html"), (3, "image/png"),
        (1, "text/csv"),
    ]
    image = next(p for p in parsed.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<chart>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == png()
    attachment = next(parsed.iter_attachments())
    assert attachment.get_filename() == "rapport.csv"
    assert attachment.get_content().splitlines() == ["reference,state", "HDH-1,x"]


def test_headers_mark_an_automatic_message_with_a_message_id_derived_from_the_key():
    first = emails.build(row()).message()
    again = emails.build(row(subject="autre")).message()

    assert first["Message-ID"] == again["Message-ID"] == emails.message_id("test:1")
    assert first["Message-ID"].endswith("@health-data-hub.example>")
    assert emails.message_id("test:2") != first["Message-ID"]
    assert first["Auto-Submitted"] == "auto-generated"
    assert first["Content-Language"] == "fr"
    assert first["To"] == "direction@hdh.example"


def test_send_hands_the_message_to_the_smtp_server(smtp):
    emails.send(row(inline_image=png(), inline_image_cid="chart"))

    (received,) = smtp.accepted
    assert " ".join(received["Subject"].split()) == "Rapport : délais"
    assert received.get_body(preferencelist=("plain",)).get_content().splitlines() == ["Bonjour,", "voici le rapport."]
    assert 'src="cid:chart"' in received.get_body(preferencelist=("html",)).get_content()


def test_send_raises_when_the_server_refuses(smtp):
    import smtplib

    import pytest

    smtp.refuse_next(1, "550 5.1.1 Mailbox unavailable")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        emails.send(row())

    assert emails.is_permanent(refused.value)
    assert not smtp.accepted
