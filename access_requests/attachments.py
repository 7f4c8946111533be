"""Check an uploaded document: PDF, ODT or DOCX recognised by content, size-limited, safe name."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from access_requests.exceptions import InvalidInput

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {"application/pdf": ".pdf", "application/vnd.oasis.opendocument.text": ".odt", DOCX_MIMETYPE: ".docx"}


@dataclass(frozen=True)
class CheckedUpload:
    content: bytes
    content_type: str
    name: str
    sha256: str


def sniff(content: bytes) -> str | None:
    """The document type from its bytes, or None. File names and browser types are not trusted."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and _mimetype_entry(archive) == ODT_MIMETYPE:
                return "application/vnd.oasis.opendocument.text"
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX_MIMETYPE
    except (zipfile.BadZipFile, KeyError, RuntimeError, ValueError):
        return None
    return None


def _mimetype_entry(archive: zipfile.ZipFile) -> bytes:
    """The ODF "mimetype" entry, read no further than its expected length.

    Never decompress a whole entry: a small upload can hold gigabytes of zeros (a zip bomb).
    """
    with archive.open("mimetype") as entry:
        return entry.read(len(ODT_MIMETYPE) + 2).strip()


def safe_name(name: str, content_type: str) -> str:
    """A file name with no path, no control or shell characters, and the extension of its type."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-._")[:80] or "document"
    return stem + EXTENSIONS[content_type]


def check_upload(uploaded) -> CheckedUpload:
    """Read and check an uploaded file; raise InvalidInput with a clear message otherwise."""
    limit = settings.MAX_ATTACHMENT_BYTES
    if uploaded is None:
        raise InvalidInput(_("Choisissez un fichier."))
    if uploaded.size is not None and uploaded.size > limit:
        raise InvalidInput(_("Le fichier dépasse %(mb)d Mo.") % {"mb": limit // (1024 * 1024)})
    content = uploaded.read(limit + 1)
    if not content:
        raise InvalidInput(_("Le fichier est vide."))
    if len(content) > limit:
        raise InvalidInput(_("Le fichier dépasse %(mb)d Mo.") % {"mb": limit // (1024 * 1024)})
    content_type = sniff(content)
    if content_type is None:
        raise InvalidInput(_("Seuls les documents PDF, ODT ou DOCX sont acceptés (le contenu du fichier a été vérifié)."))
    return CheckedUpload(content=content, content_type=content_type, name=safe_name(uploaded.name, content_type),
                         sha256=hashlib.sha256(content).hexdigest())
