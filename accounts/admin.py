"""Organisations, profiles and requests to join, for administrators."""

from __future__ import annotations

from django.contrib import admin

from accounts.models import MembershipRequest, Organisation, ProConnectIdentity, Profile


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """The name is normalised and checked against every other name, whatever the case
    (Organisation.clean); duplicates are merged from the back office (/backoffice/organisations/)."""

    list_display = ("name", "siret", "created_at", "from_sign_up")
    list_filter = ("from_sign_up",)
    search_fields = ("name", "siret")
    fields = ("name", "siret", "created_at", "from_sign_up")
    readonly_fields = ("created_at", "from_sign_up")

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


@admin.register(MembershipRequest)
class MembershipRequestAdmin(admin.ModelAdmin):
    """Read only: members decide on /accounts/organisation/, the secretariat on /backoffice/organisations/."""

    list_display = ("user", "organisation", "status", "requested_at", "decided_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("user__email", "organisation__name")
    list_select_related = ("user", "organisation", "decided_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProConnectIdentity)
class ProConnectIdentityAdmin(admin.ModelAdmin):
    """Made by signing in with ProConnect (accounts.services.sign_in_with_proconnect). Deleting a link
    lets the account be linked again, by its address, to the next ProConnect identity that signs in
    with it (a person whose ProConnect identity changed)."""

    list_display = ("user", "sub", "issuer", "linked_at")
    search_fields = ("user__username", "user__email", "sub")
    list_select_related = ("user",)
    readonly_fields = ("user", "issuer", "sub", "linked_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
