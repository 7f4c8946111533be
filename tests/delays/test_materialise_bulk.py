"""The delay rows in bulk (issue 16): ``materialise_requests_bulk`` writes, by COPY and over
worker processes, exactly the rows the per-request recompute writes."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection

from access_requests.history_import import import_history
from access_requests.models import AccessRequest
from catalog.models import Dataset
from delays import materialise
from delays.models import RequestDelay
from demo.history import COLUMNS, generate

pytestmark = pytest.mark.django_db

AS_OF = dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 1, 15, 10, tzinfo=dt.UTC)


def delay_rows() -> dict[int, dict[str, Any]]:
    return {row["request_id"]: row for row in RequestDelay.objects.values()}


@pytest.fixture
def imported(tmp_path: Path) -> dict[int, dict[str, Any]]:
    """A generated history of 250 requests imported (its delay rows materialised in bulk)."""
    assert connection.vendor == "postgresql", "run this suite with DATABASE_URL=postgres://... (see Makefile)"
    path = tmp_path / "history.csv"
    holders_of = dict(Dataset.objects.values_list("code", "holder__code"))
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "holder"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(generate(250, seed=13, as_of=AS_OF, holders_of=holders_of))
    with time_machine.travel(NOW, tick=False):
        import_history(path)
    rows = delay_rows()
    assert len(rows) > 200
    assert {row["status"] for row in rows.values()} >= {"met", "missed", "on_track"}
    return rows


def test_bulk_rows_are_the_per_request_rows(imported):
    RequestDelay.objects.all().delete()
    with time_machine.travel(NOW, tick=False):
        for pk in AccessRequest.objects.values_list("pk", flat=True):
            materialise.materialise_request(pk)  # what a transition's recompute does
    assert delay_rows() == imported


def test_worker_processes_compute_the_same_rows(imported):
    RequestDelay.objects.all().delete()
    ids = list(AccessRequest.objects.values_list("pk", flat=True))
    with time_machine.travel(NOW, tick=False):
        written = materialise.materialise_requests_bulk(ids, workers=2)
    assert written == len(imported)
    assert delay_rows() == imported
