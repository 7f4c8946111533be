"""The outbox is what administrators watch: every email, its status, attempts and last error,
with a "retry" action (through ``outbox.retry_messages``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications import outbox
from notifications.models import OutboxMessage, OutboxStatus


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        # A message is never edited (its page is read-only); "change" on the list is what the
        # retry action needs.
        return obj is None and super().has_change_permission(request)

    @admin.display(description=_("état"), ordering="status")
    def status_badge(self, obj):
        colours = {OutboxStatus.PENDING: "#b34000", OutboxStatus.SENT: "#18753c", OutboxStatus.FAILED: "#ce0500"}
        return format_html('<strong style="color:{}">{}</strong>', colours.get(obj.status, "#161616"),
                           obj.get_status_display())

    @admin.display(description=_("dernière erreur"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

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
