"""Reads of the catalogue."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Dataset


def dataset_list() -> QuerySet[Dataset]:
    return Dataset.objects.select_related("holder").order_by("name")
