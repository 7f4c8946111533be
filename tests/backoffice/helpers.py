"""Helpers of the back-office tests: delay rows and realistic histories."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone

from access_requests.history_import import import_history
from access_requests.models import AccessRequest
from delays.materialise import materialise_requests, refresh_baseline
from demo.history import write_csv
from tests.conftest import PASSWORD  # noqa: F401  (re-exported for the tests)


def materialise_all() -> None:
    """Compute every request's delay row now (tests run in a transaction: no on-commit task)."""
    materialise_requests(AccessRequest.objects.values_list("pk", flat=True))


def import_sample(tmp_path: Path, n: int, *, seed: int = 7, as_of: dt.datetime | None = None,
                  number_offset: int = 0) -> None:
    """Import ``n`` realistic request histories (2019 to ``as_of``) with their delay rows.

    ``number_offset`` shifts the reference numbers (HDH-YYYY-NNNN) so that a second sample can be
    imported beside a first one.
    """
    as_of = as_of or timezone.now()
    path = tmp_path / f"history-{n}-{seed}.csv"
    write_csv(path, n, seed, as_of)
    if number_offset:
        shifted = re.sub(r"^HDH-(\d{4})-(\d{4}),", lambda m: f"HDH-{m[1]}-{int(m[2]) + number_offset:04d},",
                         path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        path.write_text(shifted, encoding="utf-8")
    import_history(path)
    refresh_baseline()
    materialise_all()


@pytest.fixture(autouse=True)
def backoffice_settings(settings):
    """Import this autouse fixture in each module: personas are many, so their passwords are hashed
    with a fast hasher; the dashboard's cache starts empty (tests of the cache turn it on)."""
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HDH_DASHBOARD_CACHE_SECONDS = 0
    cache.clear()
    yield
    cache.clear()
