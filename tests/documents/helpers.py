"""Read the documents as their readers' tools do: pypdf for the PDFs, zipfile for the archive."""

from __future__ import annotations

import io
import zipfile

import pypdf

from tests.downloads import body


def pdf_reader(data: bytes) -> pypdf.PdfReader:
    assert data.startswith(b"%PDF-"), data[:20]
    return pypdf.PdfReader(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    """The text of every page, each run of white space (line ends included) as one space."""
    return " ".join(" ".join((page.extract_text() or "").split()) for page in pdf_reader(data).pages)


def squeezed(text: str) -> str:
    """``text`` without any white space: a checksum the layout wrapped reads whole again."""
    return "".join(text.split())


def archive(data: bytes) -> zipfile.ZipFile:
    result = zipfile.ZipFile(io.BytesIO(data))
    assert result.testzip() is None
    return result


def response_bytes(response) -> bytes:
    return body(response)
