"""Helpers of the back-office tests: delay rows and realistic histories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.utils import timezone

from access_requests.delay_service import materialise_requests, refresh_baseline
from access_requests.demo_history import write_csv
from access_requests.history_import import import_history
from access_requests.models import AccessRequest
from tests.conftest import PASSWORD  # noqa: F401  (re-exported for the tests)


def materialise_all() -> None:
    """Compute every request's delay row now (tests run in a transaction: no on-commit task)."""
    materialise_requests(AccessRequest.objects.values_list("pk", flat=True))


def import_sample(tmp_path: Path, n: int, *, seed: int = 7, as_of: dt.datetime | None = None) -> None:
    """Import ``n`` realistic request histories (2019 to ``as_of``) with their delay rows."""
    as_of = as_of or timezone.now()
    path = tmp_path / f"history-{n}-{seed}.csv"
    write_csv(path, n, seed, as_of)
    import_history(path)
    refresh_baseline()
    materialise_all()
