"""The roadmap's records in the admin: listed and searchable; recorded and deleted through
``delays.services`` (the back office's page is where the secretariat keeps them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from delays import services
from delays.models import CivilSocietyExchange, Partnership

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:  # not subscriptable at run time
    _ModelAdmin = admin.ModelAdmin


class _RecordAdmin(_ModelAdmin):
    readonly_fields = ("recorded_by", "recorded_at")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a mistake is deleted and recorded again: one service writes them

    def has_add_permission(self, request: HttpRequest) -> bool:
        return services.may_record_indicators(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return services.may_record_indicators(request.user)


@admin.register(Partnership)
class PartnershipAdmin(_RecordAdmin):
    list_display = ("signed_on", "name", "partner", "recorded_by")
    search_fields = ("name", "partner")
    date_hierarchy = "signed_on"
    fields = ("name", "partner", "signed_on", "notes", "recorded_by", "recorded_at")

    def save_model(self, request: HttpRequest, obj: Partnership, form: Any, change: bool) -> None:
        saved = services.record_partnership(actor=request.user, name=obj.name, partner=obj.partner,
                                            signed_on=obj.signed_on, notes=obj.notes)
        obj.pk, obj.recorded_by, obj.recorded_at = saved.pk, saved.recorded_by, saved.recorded_at

    def delete_model(self, request: HttpRequest, obj: Partnership) -> None:
        services.delete_partnership(actor=request.user, partnership_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for pk in queryset.values_list("pk", flat=True):
            services.delete_partnership(actor=request.user, partnership_id=pk)


@admin.register(CivilSocietyExchange)
class CivilSocietyExchangeAdmin(_RecordAdmin):
    list_display = ("held_on", "title", "kind", "audience", "recorded_by")
    list_filter = ("kind",)
    search_fields = ("title", "audience")
    date_hierarchy = "held_on"
    fields = ("held_on", "title", "kind", "audience", "recorded_by", "recorded_at")

    def save_model(self, request: HttpRequest, obj: CivilSocietyExchange, form: Any, change: bool) -> None:
        saved = services.record_exchange(actor=request.user, held_on=obj.held_on, title=obj.title, kind=obj.kind,
                                         audience=obj.audience)
        obj.pk, obj.recorded_by, obj.recorded_at = saved.pk, saved.recorded_by, saved.recorded_at

    def delete_model(self, request: HttpRequest, obj: CivilSocietyExchange) -> None:
        services.delete_exchange(actor=request.user, exchange_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for pk in queryset.values_list("pk", flat=True):
            services.delete_exchange(actor=request.user, exchange_id=pk)
