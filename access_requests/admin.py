"""Django admin: requests, their events, messages and experts' invitations, read-only.

Every change of a request goes through the services (the back office), so that it is checked,
locked and logged. The outbox's admin is in notifications/admin.py, organisations and profiles
in accounts/admin.py.
"""

from __future__ import annotations

from django.contrib import admin

from access_requests.models import AccessRequest, Event, ExpertInvitation, HolderTask, HolderTaskEvent, Message


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible, never written from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class HolderTaskInline(_ReadOnlyInline):
    model = HolderTask
    fields = ("holder", "state", "entered_at", "due_date", "assignee", "delivered_at")
    readonly_fields = fields


class HolderTaskEventInline(_ReadOnlyInline):
    model = HolderTaskEvent
    fields = ("at", "from_state", "to_state", "action", "actor", "role", "comment")
    readonly_fields = fields


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
    inlines = [HolderTaskInline, EventInline]


@admin.register(HolderTask)
class HolderTaskAdmin(ReadOnlyAdmin):
    list_display = ("request", "holder", "state", "entered_at", "due_date", "assignee", "delivered_at")
    list_filter = ("state", "holder")
    search_fields = ("request__reference", "holder__name")
    list_select_related = ("request", "holder", "assignee")
    inlines = [HolderTaskEventInline]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("at", "request", "from_state", "to_state", "action", "actor", "role")
    list_filter = ("action", "role", "to_state")
    search_fields = ("request__reference", "comment")
    list_select_related = ("request", "actor")
    date_hierarchy = "at"


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "request", "author", "role", "kind", "internal", "notified_at")
    list_filter = ("kind", "internal", "role")
    search_fields = ("request__reference",)
    list_select_related = ("request", "author")
    date_hierarchy = "created_at"
    # The body is health-related correspondence: read on the request's pages, by those allowed.
    exclude = ("body",)


@admin.register(ExpertInvitation)
class ExpertInvitationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "request", "email", "invited_by", "expires_at", "revoked_at", "last_seen_at")
    search_fields = ("request__reference", "email")
    list_select_related = ("request", "invited_by")
    exclude = ("token_hash",)
