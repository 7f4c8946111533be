"""Helpers of the attachment tests: private storage in a temporary folder, and the real clamd."""

from __future__ import annotations

import pytest

from tests.clamd import clamd  # noqa: F401 - the session fixture
from tests.conftest import stored_files, use_private_media  # noqa: F401 - stored_files is imported from here by the tests


@pytest.fixture
def attachment_storage(settings, tmp_path, monkeypatch):
    """Attachments go to a temporary folder."""
    return use_private_media(settings, tmp_path, monkeypatch)
