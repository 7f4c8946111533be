"""The outbox is what administrators watch: every email, its status, attempts and last error,
with a "retry" action (through ``outbox.retry_messages``); and the webhooks: subscriptions
(created, changed, disabled, enabled, their secret rotated through ``webhooks.services``, the
secret shown once) and their deliveries, read-only, with each answer and a "redeliver" action."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hdh_access.lib.errors import DomainError
from notifications import outbox
from notifications.models import OutboxMessage, OutboxStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from notifications.webhooks import services as webhooks

STATUS_COLOURS = {OutboxStatus.PENDING: "#b34000", OutboxStatus.SENT: "#18753c", OutboxStatus.FAILED: "#ce0500"}


def status_badge(obj):
    return format_html('<strong style="color:{}">{}</strong>', STATUS_COLOURS.get(obj.status, "#161616"),
                       obj.get_status_display())


def shortened(text: str, length: int = 80) -> str:
    return (text[:length] + "…") if len(text) > length else text


class OutgoingAdmin(admin.ModelAdmin):
    """An outgoing row (an email, a webhook delivery) as the admin shows it: read-only, never
    added by hand, deleted by a superuser only, its status and last error on the list. "Change"
    on the list is what the put-back actions (retry, redeliver) need."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    @admin.display(description=_("état"), ordering="status")
    def status_badge(self, obj):
        return status_badge(obj)

    @admin.display(description=_("dernière erreur"))
    def short_error(self, obj):
        return shortened(obj.last_error)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(OutgoingAdmin):
    list_display = ("created_at", "to", "subject", "status_badge", "attempts", "next_attempt_at", "sent_at",
                    "short_error")
    list_filter = ("status", "language", ("created_at", admin.DateFieldListFilter), ("sent_at", admin.DateFieldListFilter))
    search_fields = ("to", "subject", "key")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    actions = ["retry"]
    list_per_page = 50
    fields = ("key", "to", "language", "subject", "status", "attempts", "last_error", "next_attempt_at",
              "claimed_until", "created_at", "sent_at", "attachment_name", "attachment_source", "has_inline_image",
              "text_version")
    readonly_fields = fields

    def get_queryset(self, request):
        # The list never needs the bodies or binary parts.
        return super().get_queryset(request).defer("text", "html", "attachment_content", "inline_image")

    @admin.display(description=_("image intégrée"), boolean=True)
    def has_inline_image(self, obj):
        return bool(obj.inline_image_cid)

    @admin.display(description=_("version texte"))
    def text_version(self, obj):
        return format_html('<pre style="white-space:pre-wrap;max-width:60em">{}</pre>', obj.text)

    @admin.action(description=_("Renvoyer les courriels sélectionnés (en échec ou en attente)"),
                  permissions=["change"])
    def retry(self, request, queryset):
        count = outbox.retry_messages(message_ids=list(queryset.values_list("pk", flat=True)),
                                             actor=request.user)
        skipped = queryset.count() - count
        self.message_user(request, ngettext(
            "%(count)d courriel remis en file d'envoi.", "%(count)d courriels remis en file d'envoi.", count,
        ) % {"count": count}, messages.SUCCESS if count else messages.WARNING)
        if skipped:
            self.message_user(request, ngettext(
                "%(count)d courriel ignoré : déjà envoyé ou en cours d'envoi.",
                "%(count)d courriels ignorés : déjà envoyés ou en cours d'envoi.", skipped,
            ) % {"count": skipped}, messages.WARNING)


# --- webhooks ------------------------------------------------------------------------------------
class WebhookSubscriptionForm(forms.ModelForm):
    """What an administrator types; checked by the services' own rules (``clean_url``…)."""

    url = forms.URLField(label=_("adresse"), max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(label=_("événements"), choices=WebhookEvent.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscription
        fields = ("owner", "url", "events", "description")

    def _service_check(self, check, value):
        try:
            return check(value)
        except DomainError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_url(self):
        return self._service_check(webhooks.clean_url, self.cleaned_data.get("url", ""))

    def clean_events(self):
        return self._service_check(webhooks.clean_events, self.cleaned_data.get("events") or [])

    def clean_description(self):
        return self._service_check(webhooks.clean_description, self.cleaned_data.get("description", ""))

    def clean_owner(self):
        owner = self.cleaned_data.get("owner")
        if owner is not None and self.instance.pk is None:
            self._service_check(webhooks.check_room, owner)
        return owner


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("url", "owner", "event_list", "is_active", "consecutive_failures", "disabled_at",
                    "disabled_reason", "created_at")
    list_filter = ("is_active", "disabled_reason")
    search_fields = ("url", "description", "owner__email", "owner__username")
    raw_id_fields = ("owner",)
    ordering = ("-created_at", "-id")
    actions = ["disable", "enable", "rotate"]
    readonly_fields = ("secret_hint", "previous_secret_until", "is_active", "disabled_at", "disabled_reason",
                       "consecutive_failures", "created_by", "created_at", "updated_at")

    def get_fields(self, request, obj=None):
        editable = ("url", "events", "description") if obj else ("owner", "url", "events", "description")
        return (("owner",) if obj else ()) + editable + (self.readonly_fields if obj else ())

    def get_readonly_fields(self, request, obj=None):
        return (("owner",) + self.readonly_fields) if obj else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["fields"] = ("url", "events", "description")
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description=_("événements"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    @admin.display(description=_("secret"))
    def secret_hint(self, obj):
        # Never the secret itself: shown once, at creation and rotation.
        return f"{obj.secret[:10]}…" if obj.secret else ""

    # Writes go through the services; the secret is shown once, on the page that answers the creation.
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            webhooks.update_subscription(subscription_id=obj.pk, actor=request.user, url=data["url"],
                                         events=data["events"], description=data["description"])
            return
        created, secret = webhooks.create_subscription(owner=data["owner"], url=data["url"], events=data["events"],
                                                       description=data["description"], actor=request.user)
        obj.pk, obj.secret = created.pk, created.secret
        obj._state.adding = False
        request._webhook_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_webhook_secret", None)
        if secret is None:  # pragma: no cover - always set by save_model
            return super().response_add(request, obj, post_url_continue)
        return self.secret_page(request, obj, secret, created=True)

    def secret_page(self, request, obj, secret: str, *, created: bool):
        response = TemplateResponse(request, "admin/notifications/webhooksubscription/secret.html", {
            **self.admin_site.each_context(request), "opts": self.opts, "subscription": obj, "secret": secret,
            "created": created, "title": _("Secret de l'abonnement webhook"),
        })
        add_never_cache_headers(response)
        return response

    def delete_model(self, request, obj):
        webhooks.delete_subscription(subscription_id=obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            webhooks.delete_subscription(subscription_id=pk, actor=request.user)

    @admin.action(description=_("Désactiver les abonnements sélectionnés"), permissions=["change"])
    def disable(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            webhooks.disable_subscription(subscription_id=pk, actor=request.user)
        self.message_user(request, _("Abonnements désactivés."), messages.SUCCESS)

    @admin.action(description=_("Réactiver les abonnements sélectionnés"), permissions=["change"])
    def enable(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            webhooks.enable_subscription(subscription_id=pk, actor=request.user)
        self.message_user(request, _("Abonnements réactivés : leurs envois en attente repartent."), messages.SUCCESS)

    @admin.action(description=_("Renouveler le secret (un seul abonnement)"), permissions=["change"])
    def rotate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choisissez un seul abonnement pour renouveler son secret."), messages.WARNING)
            return None
        subscription, secret = webhooks.rotate_secret(subscription_id=queryset.get().pk, actor=request.user)
        return self.secret_page(request, subscription, secret, created=False)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OutgoingAdmin):
    list_display = ("created_at", "event_type", "reference", "subscription", "status_badge", "attempts",
                    "response_status", "duration_ms", "next_attempt_at", "sent_at", "short_error")
    list_filter = ("status", "event_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("reference", "webhook_id", "subscription__url")
    list_select_related = ("subscription",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    actions = ["redeliver"]
    list_per_page = 50
    fields = ("webhook_id", "subscription", "event_type", "event_key", "reference", "status", "attempts",
              "last_attempt_at", "response_status", "duration_ms", "response_body", "last_error", "next_attempt_at",
              "claimed_until", "created_at", "sent_at", "payload")
    readonly_fields = fields

    @admin.display(description=_("contenu envoyé"))
    def payload(self, obj):
        return format_html('<pre style="white-space:pre-wrap;max-width:60em">{}</pre>', obj.body)

    @admin.display(description=_("début de la réponse"))
    def response_body(self, obj):
        return format_html('<pre style="white-space:pre-wrap;max-width:60em">{}</pre>', obj.response_excerpt)

    @admin.action(description=_("Renvoyer les envois sélectionnés (en échec ou en attente)"), permissions=["change"])
    def redeliver(self, request, queryset):
        count = webhooks.redeliver(delivery_ids=list(queryset.values_list("pk", flat=True)), actor=request.user)
        self.message_user(request, ngettext(
            "%(count)d envoi remis en file.", "%(count)d envois remis en file.", count,
        ) % {"count": count}, messages.SUCCESS if count else messages.WARNING)
