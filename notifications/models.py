"""The outbox: emails to send, written in the transaction of the change that causes them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    SENT = "sent", _("Envoyé")
    FAILED = "failed", _("En échec")


class Outgoing(models.Model):
    """What the outbox's claim, retry and failure need of a row to send (notifications.outbox):
    its status, attempts, last error, when to try again and who holds it now."""

    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class OutboxMessage(Outgoing):
    """An email to send, written in the same transaction as the change that causes it.

    ``key`` is unique (e.g. the weekly report: recipient and ISO week), so a job that fires
    twice or a retried worker never queues or sends the same message twice. A task sends
    pending rows with bounded retries; a periodic sweep picks up anything left behind.
    """

    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField()
    language = models.CharField(max_length=8, default="fr")
    subject = models.CharField(max_length=255)
    text = models.TextField()
    html = models.TextField(blank=True)
    # Optional attachment (e.g. the weekly report's CSV) and inline image (its chart).
    attachment_name = models.CharField(max_length=100, blank=True)
    attachment_mimetype = models.CharField(max_length=100, blank=True)
    attachment_content = models.BinaryField(blank=True, default=b"")
    # An attachment drawn when the row is sent, not in the transaction that queued it (the
    # submission's receipt PDF: "receipt:<request id>"); its bytes are kept in attachment_content
    # by the first attempt, so a retry sends the same file (notifications.messages.draw_attachment).
    attachment_source = models.CharField(max_length=100, blank=True)
    inline_image = models.BinaryField(blank=True, default=b"")
    inline_image_cid = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "access_requests_outboxmessage"  # moved from access_requests, table kept
        ordering = ["created_at", "id"]
        verbose_name = _("courriel sortant")
        verbose_name_plural = _("courriels sortants")

    def __str__(self) -> str:
        return f"{self.to}: {self.subject} ({self.status})"
