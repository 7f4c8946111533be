"""After a committed change of a request: recompute its delay row in the background."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.dispatch import receiver

from access_requests.signals import request_committed, requests_imported, requests_importing
from delays import materialise, tasks
from delays.holders import refresh_holder_medians
from delays.models import RequestDelay
from delays.summary import rebuild_summary
from hdh_access.lib.broker import enqueue


@receiver(request_committed, dispatch_uid="delays.recompute_after_commit")
def recompute_after_commit(sender: Any, *, request_id: int, **kwargs: Any) -> None:
    enqueue(tasks.recompute_request_delay, request_id)


@receiver(requests_importing, dispatch_uid="delays.materialise_importing")
def materialise_importing(sender: Any, **kwargs: Any) -> materialise.ImportedDelays | None:
    """At the start of an import on PostgreSQL: compute the new requests' delay rows from the
    histories in memory as their chunks are written (``materialise.ImportedDelays``)."""
    return materialise.ImportedDelays() if connection.vendor == "postgresql" else None


@receiver(requests_imported, dispatch_uid="delays.materialise_imported")
def materialise_imported(sender: Any, *, request_ids: list[int], prepared: Sequence[Any] = (),
                         **kwargs: Any) -> None:
    """Inside the import's transaction: the imported rows, then the baseline they change, then
    the forecasts of the imported requests still open (read with that baseline), then the
    dashboard's summary (delays.summary.rebuild_summary). On PostgreSQL in bulk (over all cores,
    written by COPY), the same rows, each computed once: the rows that do not wait for the
    baseline first (those of the new requests already, ``prepared`` by
    ``materialise_importing``), the open ones after it."""
    if connection.vendor != "postgresql":
        rematerialise = functools.partial(materialise.materialise_requests, track_summary=False)
        rematerialise(request_ids)
        medians = materialise.refresh_baseline()
        refresh_holder_medians()
        still_open = list(RequestDelay.objects.filter(request_id__in=request_ids, ended_at__isnull=True)
                          .values_list("request_id", flat=True))
        if still_open:
            rematerialise(still_open, medians=medians)
    else:
        done: set[int] = set()
        deferred: list[int] = []
        for computed in prepared:
            if isinstance(computed, materialise.ImportedDelays):
                done.update(computed.done)
                deferred += computed.deferred
        deferred += materialise.materialise_closed_bulk([pk for pk in request_ids if pk not in done])
        medians = materialise.refresh_baseline()
        refresh_holder_medians()
        if deferred:
            materialise.materialise_requests_bulk(deferred, medians=medians)
    # The dashboard's summary, from every row at once (cheaper than moving 100,000 rows one by one).
    rebuild_summary()
