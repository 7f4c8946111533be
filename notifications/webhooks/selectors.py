"""Reads of webhook subscriptions and deliveries, as a person may see them: their own (the admin
reads every row through Django's admin).

Each subscription carries its ``secret``: a page or an API answer never shows it (the services
return it once, at creation and rotation).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from notifications.models import WebhookDelivery, WebhookSubscription
from notifications.webhooks.services import SubscriptionNotFound


def subscriptions_of(user) -> QuerySet[WebhookSubscription]:
    """``user``'s subscriptions, oldest first."""
    return WebhookSubscription.objects.filter(owner_id=user.pk).order_by("created_at", "pk")


def subscription_of(user, subscription_id: int) -> WebhookSubscription:
    """One of ``user``'s subscriptions, or SubscriptionNotFound (another person's too)."""
    subscription = subscriptions_of(user).filter(pk=subscription_id).first()
    if subscription is None:
        raise SubscriptionNotFound(_("Abonnement webhook introuvable."))
    return subscription


def deliveries_of(user, *, subscription_id: int | None = None, status: str | None = None,
                  ) -> QuerySet[WebhookDelivery]:
    """The deliveries of ``user``'s subscriptions (of one, with ``subscription_id``; of one
    status: pending, sent, failed), newest first, each with its subscription."""
    rows = WebhookDelivery.objects.filter(subscription__owner_id=user.pk)
    if subscription_id is not None:
        rows = rows.filter(subscription_id=subscription_id)
    if status is not None:
        rows = rows.filter(status=status)
    return rows.select_related("subscription").order_by("-created_at", "-pk")


def delivery_of(user, delivery_id: int) -> WebhookDelivery:
    """One delivery of ``user``'s subscriptions, or NotFound."""
    delivery = deliveries_of(user).filter(pk=delivery_id).first()
    if delivery is None:
        raise DeliveryNotFound(_("Envoi webhook introuvable."))
    return delivery


class DeliveryNotFound(SubscriptionNotFound):
    """No delivery by that id, or not one of the user's subscriptions."""
