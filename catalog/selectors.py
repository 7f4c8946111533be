"""Reads of the catalogue."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Dataset


def dataset_list() -> QuerySet[Dataset]:
    return Dataset.objects.select_related("holder").order_by("name")


def datasets_by_code(codes: set[str]) -> dict[str, Dataset]:
    return {d.code: d for d in Dataset.objects.filter(code__in=codes)}
