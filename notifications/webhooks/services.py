"""Every write on webhook subscriptions: what the admin and the API call (keyword-only, explicit
``actor``).

Who may manage a subscription: its owner, or someone with the permission to change subscriptions
(``notifications.change_webhooksubscription``: the administrators); anyone else is told it does
not exist (NotFound), as for a missing one. The secret is returned by ``create_subscription`` and
``rotate_secret`` only: show it once, it is never shown again (it stays in the database, which the
worker needs to sign: docs/webhooks.md).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hdh_access.lib.broker import enqueue
from hdh_access.lib.errors import ActionNotPermitted, InvalidInput, NotFound
from notifications import outbox
from notifications.models import DisabledReason, WebhookDelivery, WebhookEvent, WebhookSubscription
from notifications.webhooks import delivery, signing
from notifications.webhooks.events import SWEEP_TASK

logger = logging.getLogger(__name__)

MANAGE_PERMISSION = "notifications.change_webhooksubscription"
URL_MAX_LENGTH = WebhookSubscription._meta.get_field("url").max_length or 2000
DESCRIPTION_MAX_LENGTH = WebhookSubscription._meta.get_field("description").max_length or 200


class SubscriptionNotFound(NotFound):
    """No subscription by that id, or not one the actor may manage."""


def manages_all(actor) -> bool:
    """Administrators manage every subscription; everyone else their own only."""
    return bool(actor is not None and actor.is_authenticated and actor.is_active and actor.has_perm(MANAGE_PERMISSION))


def _check_actor(actor, owner) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise ActionNotPermitted(_("Connectez-vous pour gérer des abonnements webhook."))
    if actor.pk != owner.pk and not manages_all(actor):
        raise ActionNotPermitted(_("Vous ne pouvez gérer que vos propres abonnements webhook."))


def _load(subscription_id: int, actor) -> WebhookSubscription:
    """The subscription, locked, if ``actor`` may manage it; else SubscriptionNotFound."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise ActionNotPermitted(_("Connectez-vous pour gérer des abonnements webhook."))
    subscription = (WebhookSubscription.objects.select_for_update(of=("self",)).select_related("owner")
                    .filter(pk=subscription_id).first())
    if subscription is None or (subscription.owner_id != actor.pk and not manages_all(actor)):
        raise SubscriptionNotFound(_("Abonnement webhook introuvable."))
    return subscription


# --- what is typed -------------------------------------------------------------------------------
def clean_url(url: str) -> str:
    """An absolute URL the worker may post to (docs/webhooks.md), or InvalidInput saying why."""
    url = (url or "").strip()
    if not url:
        raise InvalidInput(_("Indiquez l'adresse qui recevra les événements."))
    if len(url) > URL_MAX_LENGTH:
        raise InvalidInput(_("L'adresse dépasse %(n)d caractères.") % {"n": URL_MAX_LENGTH})
    refusal = delivery.url_refusal(url)
    if refusal is None:
        try:
            URLValidator(schemes=list(delivery.allowed_schemes()))(url)
        except ValidationError:
            refusal = delivery.BAD_URL
    messages = {
        delivery.BAD_URL: _("L'adresse doit être une URL complète, par exemple https://exemple.fr/webhooks."),
        delivery.SCHEME: _("L'adresse doit commencer par https://."),
        delivery.CREDENTIALS: _("L'adresse ne doit pas contenir d'identifiant ni de mot de passe."),
        delivery.PRIVATE: _("L'adresse doit être joignable sur Internet (pas une adresse locale ou privée)."),
    }
    if refusal is not None:
        raise InvalidInput(messages[refusal])
    return url


def clean_events(events: Iterable[str]) -> list[str]:
    """The event types, each known, at least one, in the order of ``WebhookEvent``."""
    chosen = set(events or ())
    unknown = chosen - set(WebhookEvent.values)
    if unknown:
        raise InvalidInput(_("Type d'événement inconnu : %(types)s.") % {"types": ", ".join(sorted(unknown))})
    if not chosen:
        raise InvalidInput(_("Choisissez au moins un type d'événement."))
    return [value for value in WebhookEvent.values if value in chosen]


def clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(_("La description dépasse %(n)d caractères.") % {"n": DESCRIPTION_MAX_LENGTH})
    return description


def check_room(owner) -> None:
    """InvalidInput when ``owner`` already has HDH_WEBHOOK_MAX_SUBSCRIPTIONS subscriptions."""
    if WebhookSubscription.objects.filter(owner_id=owner.pk).count() >= settings.HDH_WEBHOOK_MAX_SUBSCRIPTIONS:
        raise InvalidInput(_("Un compte a au plus %(n)d abonnements webhook.")
                           % {"n": settings.HDH_WEBHOOK_MAX_SUBSCRIPTIONS})


# --- subscriptions -------------------------------------------------------------------------------
def create_subscription(*, owner, url: str, events: Sequence[str], description: str = "",
                        actor) -> tuple[WebhookSubscription, str]:
    """A subscription of ``owner`` to ``events`` posted to ``url``; returns it and its secret
    (``whsec_…``), to show once. ``actor``: the owner, or an administrator."""
    _check_actor(actor, owner)
    if not owner.is_active:
        raise InvalidInput(_("Ce compte est désactivé : il ne peut pas recevoir d'événements."))
    url, events, description = clean_url(url), clean_events(events), clean_description(description)
    secret = signing.new_secret()
    with transaction.atomic():
        # The owner's row locked: two creations at once cannot both pass the limit.
        type(owner).objects.select_for_update().filter(pk=owner.pk).first()
        check_room(owner)
        subscription = WebhookSubscription.objects.create(owner=owner, url=url, events=events,
                                                          description=description, secret=secret, created_by=actor)
    logger.info("webhooks: %s created subscription %s of user %s to %s", actor.pk, subscription.pk, owner.pk, url)
    return subscription, secret


def update_subscription(*, subscription_id: int, actor, url: str | None = None, events: Sequence[str] | None = None,
                        description: str | None = None) -> WebhookSubscription:
    """Change the address, the events or the description (None: unchanged). Deliveries already
    written keep their body and go to the new address."""
    with transaction.atomic():
        subscription = _load(subscription_id, actor)
        fields = ["updated_at"]
        if url is not None:
            subscription.url = clean_url(url)
            fields.append("url")
        if events is not None:
            subscription.events = clean_events(events)
            fields.append("events")
        if description is not None:
            subscription.description = clean_description(description)
            fields.append("description")
        subscription.save(update_fields=fields)
    logger.info("webhooks: %s changed subscription %s (%s)", actor.pk, subscription.pk, ", ".join(fields[1:]))
    return subscription


def disable_subscription(*, subscription_id: int, actor) -> WebhookSubscription:
    """Stop posting to it: no new delivery is written; the pending ones wait until it is enabled."""
    with transaction.atomic():
        subscription = _load(subscription_id, actor)
        if subscription.is_active:
            subscription.is_active = False
            subscription.disabled_at = timezone.now()
            subscription.disabled_reason = DisabledReason.MANUAL
            subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
            logger.info("webhooks: %s disabled subscription %s", actor.pk, subscription.pk)
    return subscription


def enable_subscription(*, subscription_id: int, actor) -> WebhookSubscription:
    """Post to it again, with its failure count reset: its pending deliveries leave at once (its
    failed ones only when put back: ``redeliver``)."""
    with transaction.atomic():
        subscription = _load(subscription_id, actor)
        if not subscription.is_active:
            subscription.is_active = True
            subscription.disabled_at = None
            subscription.disabled_reason = ""
            subscription.consecutive_failures = 0
            subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason", "consecutive_failures",
                                             "updated_at"])
            logger.info("webhooks: %s enabled subscription %s", actor.pk, subscription.pk)
            transaction.on_commit(lambda: enqueue(SWEEP_TASK))
    return subscription


def rotate_secret(*, subscription_id: int, actor) -> tuple[WebhookSubscription, str]:
    """A new secret (returned, to show once). The previous one still signs, beside it, for
    HDH_WEBHOOK_SECRET_OVERLAP_HOURS, so the receiver can switch without losing a delivery."""
    secret = signing.new_secret()
    with transaction.atomic():
        subscription = _load(subscription_id, actor)
        overlap = dt.timedelta(hours=settings.HDH_WEBHOOK_SECRET_OVERLAP_HOURS)
        subscription.previous_secret = subscription.secret if overlap else ""
        subscription.previous_secret_until = timezone.now() + overlap if overlap else None
        subscription.secret = secret
        subscription.save(update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"])
    logger.info("webhooks: %s rotated the secret of subscription %s", actor.pk, subscription.pk)
    return subscription, secret


def delete_subscription(*, subscription_id: int, actor) -> None:
    """Delete it with its deliveries (their history goes with it)."""
    with transaction.atomic():
        subscription = _load(subscription_id, actor)
        subscription.delete()
    logger.info("webhooks: %s deleted subscription %s", actor.pk, subscription_id)


# --- deliveries ----------------------------------------------------------------------------------
def redeliver(*, delivery_ids: Iterable[int], actor) -> int:
    """Put failed (or waiting) deliveries of subscriptions ``actor`` may manage back to be posted
    now, with a fresh attempt budget and the same ``webhook-id``; never a sent one, nor one being
    posted. Those of a disabled subscription leave once it is enabled. Returns how many."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise ActionNotPermitted(_("Connectez-vous pour gérer des abonnements webhook."))
    rows = WebhookDelivery.objects.all()
    if not manages_all(actor):
        rows = rows.filter(subscription__owner=actor)
    ids = list(rows.filter(pk__in=list(delivery_ids)).values_list("pk", flat=True))
    with transaction.atomic():
        count = outbox.put_back(WebhookDelivery.objects.all(), ids)
        transaction.on_commit(lambda: enqueue(SWEEP_TASK))
    logger.info("webhooks: %s put %d delivery(ies) back to be posted", actor.pk, count)
    return count
