"""Attachments: what is accepted (a PDF, ODT or DOCX recognised by content, size-limited, with a
safe name, holding no hidden danger) and what is served (nothing the antivirus holds back).

Refused before anything is written, each with its own message: an archive that would inflate
far beyond its size (a zip bomb), or holds too many entries; an encrypted zip entry, an
encrypted Office file (an OLE container, not a zip) or an encrypted PDF (nobody, the antivirus
included, can read inside); macros (``vbaProject.bin``, ODF ``Basic/`` and ``Scripts/``).
An ODT or DOCX is judged from its central directory only: nothing is inflated.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from access_requests.exceptions import AttachmentUnavailable, InvalidInput
from access_requests.models import Attachment, ScanStatus

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {"application/pdf": ".pdf", "application/vnd.oasis.opendocument.text": ".odt", DOCX_MIMETYPE: ".docx"}
MIB = 1024 * 1024

# Zip records (APPNOTE.TXT 4.3): end of central directory, its zip64 locator and record, and a
# central directory header.
_ZIP_LOCAL = b"PK\x03\x04"
_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_EOCD_SIGNATURE, _ZIP64_LOCATOR_SIGNATURE, _ZIP64_EOCD_SIGNATURE, _CENTRAL_SIGNATURE = (
    b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06", b"PK\x01\x02")
_ZIP_ENCRYPTED_FLAG = 0x1
_ZIP_UTF8_FLAG = 0x800
# Below this size a part's ratio says nothing (a short, repetitive XML part compresses a lot).
RATIO_FLOOR_BYTES = MIB

# An OLE compound file (CFB): Office 97-2003 documents, and any password-protected Office file.
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The streams of an encrypted OOXML document (MS-OFFCRYPTO 2.3.4), named in UTF-16 in the directory.
_OLE_ENCRYPTION_STREAMS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))

# PDF: an /Encrypt entry in a trailer, or in a cross-reference stream's dictionary (PDF 1.5+).
_PDF_NAME_END = rb"(?![^\s/<>\[\]()%{}])"
_PDF_ENCRYPT = re.compile(rb"/Encrypt" + _PDF_NAME_END)
_PDF_TRAILER = re.compile(rb"trailer" + _PDF_NAME_END)
_PDF_XREF_STREAM = re.compile(rb"/Type\s*/XRef" + _PDF_NAME_END)
_PDF_WINDOW = 64 * 1024


@dataclass(frozen=True)
class CheckedUpload:
    content: bytes
    content_type: str
    name: str
    sha256: str


@dataclass(frozen=True)
class ZipEntry:
    """An entry as the central directory declares it (sizes are what inflating would give)."""

    name: str
    flags: int
    compressed_size: int
    size: int


# --- the zip central directory, read without inflating anything ------------------------------
def _end_record(content: bytes) -> tuple[int, int, int] | None:
    """(entries, directory size, directory offset) from the end record, or None if there is none."""
    end = len(content) - _EOCD.size
    if end < 0:
        return None
    if not (content.startswith(_EOCD_SIGNATURE, end) and content.endswith(b"\0\0")):
        end = content.rfind(_EOCD_SIGNATURE, max(0, len(content) - _EOCD.size - 0xFFFF))
        if end < 0 or end + _EOCD.size > len(content):
            return None
    _sig, disk, directory_disk, _here, count, size, offset, _comment = _EOCD.unpack_from(content, end)
    if count == 0xFFFF or size == 0xFFFFFFFF or offset == 0xFFFFFFFF:
        locator = end - _ZIP64_LOCATOR.size
        if locator < 0 or not content.startswith(_ZIP64_LOCATOR_SIGNATURE, locator):
            return None
        record = _ZIP64_LOCATOR.unpack_from(content, locator)[2]
        if record + _ZIP64_EOCD.size > len(content) or not content.startswith(_ZIP64_EOCD_SIGNATURE, record):
            return None
        _sig, _size, _made, _needed, disk, directory_disk, _here, count, size, offset = (
            _ZIP64_EOCD.unpack_from(content, record))
    if disk or directory_disk or offset + size > len(content):
        return None  # split over several files, or pointing outside the file
    return count, size, offset


def _zip64_sizes(extra: bytes, size: int, compressed: int) -> tuple[int, int] | None:
    """The sizes a zip64 extra field holds in place of the 0xFFFFFFFF of the header."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, position)
        if tag == 0x0001:
            data = extra[position + 4:position + 4 + length]
            values = list(struct.unpack_from(f"<{len(data) // 8}Q", data))
            if size == 0xFFFFFFFF:
                if not values:
                    return None
                size = values.pop(0)
            if compressed == 0xFFFFFFFF:
                if not values:
                    return None
                compressed = values.pop(0)
            return size, compressed
        position += 4 + length
    return None


def _entries(content: bytes, count: int, size: int, offset: int) -> list[ZipEntry] | None:
    """The ``count`` entries of the central directory, or None if it is not well formed (it must
    hold exactly the entries the end record declares)."""
    entries: list[ZipEntry] = []
    position, stop = offset, offset + size
    for _index in range(count):
        if position + _CENTRAL.size > stop:
            return None
        fields = _CENTRAL.unpack_from(content, position)
        if fields[0] != _CENTRAL_SIGNATURE:
            return None
        flags, compressed, inflated = fields[3], fields[8], fields[9]
        name_length, extra_length, comment_length = fields[10], fields[11], fields[12]
        name_start = position + _CENTRAL.size
        extra_start = name_start + name_length
        position = extra_start + extra_length + comment_length
        if position > stop:
            return None
        if inflated == 0xFFFFFFFF or compressed == 0xFFFFFFFF:
            sizes = _zip64_sizes(content[extra_start:extra_start + extra_length], inflated, compressed)
            if sizes is None:
                return None
            inflated, compressed = sizes
        name = content[name_start:extra_start].decode("utf-8" if flags & _ZIP_UTF8_FLAG else "cp437", "replace")
        entries.append(ZipEntry(name=name, flags=flags, compressed_size=compressed, size=inflated))
    return entries if position == stop else None


def central_directory(content: bytes) -> list[ZipEntry] | None:
    """A zip's entries as its central directory declares them; None if it is not a well-formed
    zip or declares more than HDH_UPLOAD_MAX_ZIP_ENTRIES (never parsed then)."""
    end = _end_record(content)
    if end is None or end[0] > settings.HDH_UPLOAD_MAX_ZIP_ENTRIES:
        return None
    return _entries(content, *end)


def _is_macro(name: str) -> bool:
    """VBA in an OOXML document (``vbaProject.bin``, its signature, ``vbaData.xml``), in any
    folder; StarBasic or scripts in an ODF document (``Basic/``, ``Scripts/``)."""
    parts = name.replace("\\", "/").lower().split("/")
    return parts[-1].startswith("vbaproject") or parts[-1] == "vbadata.xml" or any(
        folder in ("basic", "scripts") for folder in parts[:-1])


def check_archive(content: bytes) -> None:
    """Refuse a zip that is a bomb, holds too many entries, encrypted entries or macros.

    Reads the central directory only. Returns quietly for content that is not a well-formed zip:
    ``sniff`` then says it is not a document.
    """
    end = _end_record(content)
    if end is None:
        return
    most = settings.HDH_UPLOAD_MAX_ZIP_ENTRIES
    if end[0] > most:
        raise InvalidInput(_("Le document contient %(count)d fichiers internes (au plus %(max)d) : ce n'est pas un "
                             "document ordinaire.") % {"count": end[0], "max": most})
    entries = _entries(content, *end)
    if entries is None:
        return
    if any(entry.flags & _ZIP_ENCRYPTED_FLAG for entry in entries):
        raise InvalidInput(_("Le document est chiffré (protégé par un mot de passe) : personne ne pourrait le lire. "
                             "Déposez une version sans mot de passe."))
    macro = next((entry.name for entry in entries if _is_macro(entry.name)), None)
    if macro is not None:
        raise InvalidInput(_("Le document contient des macros (%(name)s) : déposez une version sans macros "
                             "(DOCX ou ODT ordinaire, ou PDF).") % {"name": macro[:100]})
    total, limit = sum(entry.size for entry in entries), settings.HDH_UPLOAD_MAX_UNCOMPRESSED_BYTES
    if total > limit:
        raise InvalidInput(_("Une fois décompressé, le document occuperait %(size)d Mo (au plus %(max)d Mo) : il est "
                             "refusé comme archive suspecte (bombe de décompression).")
                           % {"size": total // MIB, "max": max(1, limit // MIB)})
    ratio = settings.HDH_UPLOAD_MAX_RATIO
    for entry in entries:
        if entry.size >= RATIO_FLOOR_BYTES and entry.size > ratio * max(entry.compressed_size, 1):
            raise InvalidInput(_("Une partie du document (%(name)s) se décompresse %(ratio)d fois plus grande "
                                 "qu'elle n'est stockée (au plus %(max)d fois) : il est refusé comme archive suspecte "
                                 "(bombe de décompression).")
                               % {"name": entry.name[:100], "ratio": entry.size // max(entry.compressed_size, 1),
                                  "max": ratio})


# --- OLE containers and PDF ---------------------------------------------------------------
def check_ole(content: bytes) -> None:
    """Refuse an OLE compound file: an encrypted Office document, or the Office 97-2003 format."""
    if not content.startswith(_OLE_SIGNATURE):
        return
    if any(name in content for name in _OLE_ENCRYPTION_STREAMS):
        raise InvalidInput(_("Le document est chiffré (protégé par un mot de passe dans Word ou LibreOffice) : "
                             "personne ne pourrait le lire. Déposez une version sans mot de passe."))
    raise InvalidInput(_("Le fichier est au format Office 97-2003 (.doc), qui n'est pas accepté : enregistrez-le "
                         "en PDF, ODT ou DOCX."))


def pdf_is_encrypted(content: bytes) -> bool:
    """Whether a trailer, or a cross-reference stream's dictionary, has an /Encrypt entry."""
    for match in _PDF_TRAILER.finditer(content):
        end = content.find(b"startxref", match.end(), match.end() + _PDF_WINDOW)
        if _PDF_ENCRYPT.search(content, match.end(), end if end >= 0 else match.end() + _PDF_WINDOW):
            return True
    for match in _PDF_XREF_STREAM.finditer(content):
        start = content.rfind(b"obj", max(0, match.start() - _PDF_WINDOW), match.start())
        end = content.find(b"stream", match.end(), match.end() + _PDF_WINDOW)
        if _PDF_ENCRYPT.search(content, start if start >= 0 else match.start(),
                               end if end >= 0 else match.end() + _PDF_WINDOW):
            return True
    return False


def check_pdf(content: bytes) -> None:
    if content.startswith(b"%PDF-") and pdf_is_encrypted(content):
        raise InvalidInput(_("Le PDF est chiffré (protégé par un mot de passe ou par des restrictions) : il ne "
                             "pourrait pas être analysé. Déposez une version sans protection."))


# --- the type, the name, the whole check -----------------------------------------------------
def sniff(content: bytes) -> str | None:
    """The document type from its bytes, or None. File names and browser types are not trusted."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if not content.startswith(_ZIP_LOCAL):
        return None
    entries = central_directory(content)  # bounded: zipfile below parses the same, checked, directory
    if entries is None:
        return None
    names = {entry.name for entry in entries}
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "mimetype" in names and _mimetype_entry(archive) == ODT_MIMETYPE:
                return "application/vnd.oasis.opendocument.text"
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX_MIMETYPE
    except (zipfile.BadZipFile, KeyError, RuntimeError, ValueError, NotImplementedError, EOFError):
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
        raise InvalidInput(_("Le fichier dépasse %(mb)d Mo.") % {"mb": limit // MIB})
    content = uploaded.read(limit + 1)
    if not content:
        raise InvalidInput(_("Le fichier est vide."))
    if len(content) > limit:
        raise InvalidInput(_("Le fichier dépasse %(mb)d Mo.") % {"mb": limit // MIB})
    # What hides inside first: its own message is clearer than "not a document".
    check_ole(content)
    if content.startswith(_ZIP_LOCAL):
        check_archive(content)
    check_pdf(content)
    content_type = sniff(content)
    if content_type is None:
        raise InvalidInput(_("Seuls les documents PDF, ODT ou DOCX sont acceptés (le contenu du fichier a été vérifié)."))
    return CheckedUpload(content=content, content_type=content_type, name=safe_name(uploaded.name, content_type),
                         sha256=hashlib.sha256(content).hexdigest())


# --- serving --------------------------------------------------------------------------------
def ensure_downloadable(attachment: Attachment) -> None:
    """Raise AttachmentUnavailable (409, with the reason) unless ``attachment`` may be served:
    quarantined (waiting for the antivirus, or its scan failed) and infected ones never are."""
    if attachment.is_downloadable:
        return
    if attachment.scan_status == ScanStatus.INFECTED:
        raise AttachmentUnavailable(
            _("La pièce « %(name)s » contient un virus (%(signature)s) : son contenu a été supprimé et elle ne peut "
              "pas être téléchargée.") % {"name": attachment.original_name, "signature": attachment.scan_result})
    if attachment.scan_status == ScanStatus.ERROR:
        raise AttachmentUnavailable(
            _("L'analyse antivirus de la pièce « %(name)s » a échoué : elle reste en quarantaine et ne peut pas être "
              "téléchargée tant qu'une nouvelle analyse ne l'a pas déclarée saine.") % {"name": attachment.original_name})
    raise AttachmentUnavailable(
        _("La pièce « %(name)s » est en cours d'analyse antivirus : elle sera téléchargeable dès que l'analyse "
          "l'aura déclarée saine. Réessayez dans quelques minutes.") % {"name": attachment.original_name})
