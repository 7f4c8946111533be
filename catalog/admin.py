from django.contrib import admin

from .models import DataHolder, Dataset


class DatasetInline(admin.TabularInline):
    model = Dataset
    extra = 0


@admin.register(DataHolder)
class DataHolderAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "median_delivery_days")
    search_fields = ("name", "code")
    inlines = [DatasetInline]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "holder", "in_snds_main_base")
    list_filter = ("holder", "in_snds_main_base")
    search_fields = ("name", "code", "description")
    list_select_related = ("holder",)
