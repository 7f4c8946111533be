"""Organisations and profiles, for administrators."""

from __future__ import annotations

from django.contrib import admin

from accounts.models import Organisation, Profile


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
