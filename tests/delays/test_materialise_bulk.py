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


def test_an_import_computes_its_delay_rows_in_worker_processes_the_same(tmp_path, monkeypatch, imported):
    # The new requests' rows computed from the histories in memory by two workers, in batches of
    # 50 (materialise.ImportedDelays): the same rows as the import computed in one process.
    class TwoWorkers(materialise.ImportedDelays):
        pooled: list[bool] = []

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(workers=2, **kwargs)

        def add(self, requests: Any) -> None:
            super().add(requests)
            self.pooled.append(self.pool is not None)

    by_reference = {reference: {k: v for k, v in imported[pk].items() if k != "request_id"}
                    for pk, reference in AccessRequest.objects.values_list("pk", "reference") if pk in imported}
    path = tmp_path / "again.csv"
    holders_of = dict(Dataset.objects.values_list("code", "holder__code"))
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "holder"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "reference": "W" + row["reference"]}
                         for row in generate(250, seed=13, as_of=AS_OF, holders_of=holders_of))
    monkeypatch.setattr(materialise, "ImportedDelays", TwoWorkers)
    monkeypatch.setattr(materialise, "BATCH", 50)
    with time_machine.travel(NOW, tick=False):
        import_history(path)
    again = {reference[1:]: {k: v for k, v in row.items() if k != "request_id"}
             for row, reference in ((row, AccessRequest.objects.get(pk=row["request_id"]).reference)
                                    for row in RequestDelay.objects.values())
             if reference.startswith("W")}
    assert TwoWorkers.pooled == [True]
    assert again == by_reference
