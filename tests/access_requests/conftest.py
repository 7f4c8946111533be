"""Helpers of the attachment tests: private storage in a temporary folder, and the real clamd."""

from __future__ import annotations

import pytest

from access_requests.models import Attachment
from tests.clamd import clamd  # noqa: F401 - the session fixture


@pytest.fixture
def attachment_storage(settings, tmp_path, monkeypatch):
    """Attachments go to a temporary folder (the field's storage is built once, so patch it too)."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    storage = Attachment._meta.get_field("file").storage
    monkeypatch.setitem(storage.__dict__, "base_location", str(root))
    monkeypatch.setitem(storage.__dict__, "location", str(root))
    return root


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file())
