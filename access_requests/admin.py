"""Django admin for the people who run the service.

The outbox is what administrators watch: every email, its status, attempts and last error,
with a "retry" action (through ``notifications.retry_messages``). Requests and their events
are read-only here: every change of a request goes through the services (the back office),
so that it is checked, locked and logged.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import notifications
from .models import AccessRequest, Event, Organisation, OutboxMessage, OutboxStatus, Profile


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible, never written from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
              "claimed_until", "created_at", "sent_at", "attachment_name", "has_inline_image", "text_version")
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
        count = notifications.retry_messages(message_ids=list(queryset.values_list("pk", flat=True)),
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


class EventInline(admin.TabularInline):
    model = Event
    fields = ("at", "from_state", "to_state", "action", "actor", "role", "comment")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ("reference", "title", "state", "route", "organisation", "applicant", "created_at")
    list_filter = ("state", "route", "requires_matching")
    search_fields = ("reference", "title", "organisation__name", "applicant__email")
    list_select_related = ("organisation", "applicant")
    date_hierarchy = "created_at"
    inlines = [EventInline]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("at", "request", "from_state", "to_state", "action", "actor", "role")
    list_filter = ("action", "role", "to_state")
    search_fields = ("request__reference", "comment")
    list_select_related = ("request", "actor")
    date_hierarchy = "at"


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "siret")
    search_fields = ("name", "siret")

    def has_delete_permission(self, request, obj=None):
        return False  # requests point to it (PROTECT)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "data_holder", "language", "weekly_report")
    list_filter = ("language", "weekly_report", "data_holder")
    search_fields = ("user__username", "user__email", "organisation__name")
    list_select_related = ("user", "organisation", "data_holder")
    autocomplete_fields = ("organisation",)
    fields = ("user", "organisation", "data_holder", "language", "weekly_report")
    readonly_fields = ("user",)

    def has_add_permission(self, request):
        return False  # profiles come with their user

    def has_delete_permission(self, request, obj=None):
        return False
