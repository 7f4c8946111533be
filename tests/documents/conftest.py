"""Documents test helpers: attachments in a temporary folder, a request with its documents."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from access_requests import services
from tests.conftest import use_private_media

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path, monkeypatch):
    return use_private_media(settings, tmp_path, monkeypatch)


def attach(request, actor, name: str, *, kind: str = "other", content: bytes = PDF_BYTES):
    """An attachment uploaded through the service (checked, hashed, stored privately)."""
    return services.add_attachment(request_id=request.pk, actor=actor, kind=kind,
                                   uploaded=SimpleUploadedFile(name, content, content_type="application/pdf"))
