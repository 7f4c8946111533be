"""Portal test helpers: private storage in a temporary folder, sample documents, delay rows."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from access_requests import services
from tests.conftest import complete_dossier, datasets, stored_files, use_private_media  # noqa: F401 - stored_files is imported from here by the tests

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def odt_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def upload(name: str = "protocole.pdf", content: bytes = PDF, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """The personas' passwords are hashed a dozen times per test: a fast hasher keeps tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path, monkeypatch):
    """Attachments go to a temporary folder."""
    return use_private_media(settings, tmp_path, monkeypatch)


@pytest.fixture(autouse=True)
def _portal_requires_a_complete_dossier(production_completeness):
    """The portal is tested with the dossier the production settings require."""


@pytest.fixture
def story(player, personas):
    """A complete dossier (the portal's production requirements), then each (instant, step)."""

    def tell(*steps):
        with time_machine.travel(steps[0][0] - dt.timedelta(days=1), tick=False):
            request = services.create_draft(actor=personas["applicant"], title="Parcours de soins après un AVC",
                                            summary="Étude de cohorte", datasets=datasets("snds", "oscour"))
            complete_dossier(request, personas["applicant"])
        for when, name in steps:
            request = player.step(request, when, name)
        return request

    return tell
