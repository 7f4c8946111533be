"""What leaves the platform: emails (the outbox) and webhook deliveries, each a row written in the
transaction of the change that causes it, sent after commit by a task and a periodic sweep."""

from __future__ import annotations

from django.conf import settings
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


# --- webhooks ------------------------------------------------------------------------------------
class WebhookEvent(models.TextChoices):
    """What a subscription may receive (the payload's ``type``)."""

    TRANSITION = "request.transition", _("Événement d'une demande (changement d'état, prolongation…)")
    MESSAGE = "request.message", _("Nouveau message dans la messagerie d'une demande")
    TASK = "task.changed", _("Tâche d'un détenteur de données modifiée")


class DisabledReason(models.TextChoices):
    MANUAL = "manual", _("Désactivé par une personne")
    FAILURES = "failures", _("Désactivé après des échecs répétés")


class WebhookSubscription(models.Model):
    """An address that receives the events its owner may see, as signed JSON POSTs
    (notifications.webhooks; docs/webhooks.md).

    The secret signs every delivery (HMAC-SHA256, the Standard Webhooks scheme), so the worker must
    read it back: it is stored as it is, not hashed, and shown once (at creation and rotation). A
    rotated secret still signs, beside the new one, until ``previous_secret_until``.
    ``consecutive_failures`` counts the deliveries in a row that failed after their last attempt; at
    HDH_WEBHOOK_MAX_FAILURES the subscription is disabled and its owner told by email.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions",
                              verbose_name=_("propriétaire"))
    url = models.URLField(_("adresse"), max_length=2000)
    events = models.JSONField(_("événements"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("secret"), max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    disabled_at = models.DateTimeField(_("désactivé le"), null=True, blank=True)
    disabled_reason = models.CharField(_("motif de désactivation"), max_length=16, choices=DisabledReason.choices,
                                       blank=True)
    consecutive_failures = models.PositiveIntegerField(_("échecs consécutifs"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("créé par"))
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("abonnement webhook")
        verbose_name_plural = _("abonnements webhook")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(Outgoing):
    """One event for one subscription: the JSON body as it is posted (the same on every attempt),
    and what the last attempt got back. ``webhook_id`` (the ``webhook-id`` header) stays the same
    across attempts, so a receiver can drop a duplicate. Written in the transaction of the change
    (at most one per subscription and ``event_key``), posted after commit by the sweep."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries",
                                     verbose_name=_("abonnement"))
    webhook_id = models.CharField(_("identifiant"), max_length=64, unique=True)
    event_type = models.CharField(_("type"), max_length=32, choices=WebhookEvent.choices)
    # What caused it: "event:<id>", "message:<id>", "task-event:<id>".
    event_key = models.CharField(_("origine"), max_length=64)
    reference = models.CharField(_("demande"), max_length=32, blank=True, db_index=True)
    body = models.TextField(_("contenu"))
    response_status = models.PositiveSmallIntegerField(_("code de réponse"), null=True, blank=True)
    response_excerpt = models.TextField(_("début de la réponse"), blank=True)
    duration_ms = models.PositiveIntegerField(_("durée (ms)"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("dernière tentative"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "event_key"], name="webhook_delivery_once")]
        indexes = [models.Index(fields=["subscription", "created_at"], name="webhook_delivery_sub_idx")]
        verbose_name = _("envoi webhook")
        verbose_name_plural = _("envois webhook")

    def __str__(self) -> str:
        return f"{self.event_type} {self.reference} → {self.subscription_id} ({self.status})"
