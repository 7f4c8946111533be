"""The one module that sends mail.

Every email of the product is first an outbox row (``access_requests.models.OutboxMessage``);
this module turns such a row into a MIME message and hands it to Django's mail backend
(``EMAIL_BACKEND``: SMTP in production, the console in development, memory in tests).

The MIME tree of a message with everything in it::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain                 the text version
    │   └── multipart/related
    │       ├── text/html              the HTML version, <img src="cid:...">
    │       └── image/png              the inline image, Content-ID <...>
    └── text/csv                       the attachment

Nothing here knows the database: ``build`` reads the row's attributes only.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.mime.image import MIMEImage
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import SafeMIMEMultipart

__all__ = ["build", "is_permanent", "is_unreachable", "message_id", "normalise_address", "send"]


def normalise_address(address: str | None) -> str:
    """An email address as accounts store and compare it: trimmed and in lower case. Sign-up,
    sign-in and the login lockout (hdh_access.lockout) all ask this one function."""
    return (address or "").strip().lower()


class _RelatedEmail(EmailMultiAlternatives):
    """An EmailMultiAlternatives whose HTML alternative carries related parts (inline images)."""

    def __init__(self, *args, related=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.related = list(related)  # (content id, bytes, image subtype)

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)  # type: ignore[misc]  # a private hook django-stubs does not declare
        if not self.related or not msg.is_multipart():
            return msg
        parts = msg.get_payload()
        html = parts[-1]
        related = SafeMIMEMultipart(_subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET)
        related.attach(html)
        for cid, content, subtype in self.related:
            image = MIMEImage(content, _subtype=subtype)
            image.add_header("Content-ID", f"<{cid}>")
            image.add_header("Content-Disposition", "inline", filename=f"{cid}.{subtype}")
            related.attach(image)
        msg.set_payload([*parts[:-1], related])
        return msg


def _domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id(key: str) -> str:
    """A Message-ID derived from the outbox key: a resend after an ambiguous failure carries
    the same id, so that mail systems which deduplicate on it show the message once."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{_domain()}>"


def build(message, *, connection=None) -> EmailMultiAlternatives:
    """The email of an outbox row: text, HTML alternative, inline image, attachment."""
    related = []
    if message.inline_image and message.inline_image_cid:
        related.append((message.inline_image_cid, bytes(message.inline_image), "png"))
    email = _RelatedEmail(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        connection=connection,
        headers={
            "Message-ID": message_id(message.key),
            "Content-Language": message.language or settings.LANGUAGE_CODE,
            # RFC 3834: no out-of-office replies to an automatic message.
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        },
        related=related,
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    if message.attachment_name and message.attachment_content:
        email.attach(message.attachment_name, bytes(message.attachment_content),
                     message.attachment_mimetype or "application/octet-stream")
    return email


def send(message, *, connection=None) -> None:
    """Send one outbox row now through the configured backend; raises on any failure.

    The caller decides what a failure means (retry later, or give up): this function never
    swallows an error, so an email is never silently dropped.
    """
    connection = connection or get_connection(fail_silently=False)
    sent = build(message, connection=connection).send(fail_silently=False)
    if sent != 1:  # a backend that neither sent nor raised
        raise smtplib.SMTPException(f"the mail backend did not send the message (returned {sent!r})")


def is_permanent(error: BaseException) -> bool:
    """A 5xx answer from the SMTP server: retrying is unlikely to help (kept for logs)."""
    code = getattr(error, "smtp_code", None)
    if code is None and isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [value[0] for value in error.recipients.values()]
        code = min(codes) if codes else None
    return isinstance(code, int) and 500 <= code < 600


def is_unreachable(error: BaseException) -> bool:
    """The server could not be reached or dropped the connection (refused, timeout, DNS)."""
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)
