import io
import os
import resource
import struct
import zipfile
import zlib

import olefile
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st
from msoffcrypto.format.ooxml import OOXMLFile
from pypdf import PdfWriter

from access_requests.attachments import DOCX_MIMETYPE, check_upload, sniff
from access_requests.exceptions import InvalidInput
from access_requests.models import Attachment
from access_requests.workflow import State
from tests.access_requests.conftest import stored_files
from tests.conftest import with_form_token


def test_a_zip_bomb_posing_as_an_odt_is_refused_without_being_inflated():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive, \
            archive.open("mimetype", "w") as entry:
        for _ in range(300):
            entry.write(b"\0" * (1 << 20))  # 300 MB of zeros, about 1.4 MB compressed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert sniff(buffer.getvalue()) is None
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50


def test_a_real_odt_signature_is_recognised():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    assert sniff(buffer.getvalue()) == "application/vnd.oasis.opendocument.text"


# --- what hides inside a document: bombs, encryption, macros (access_requests/attachments.py) ---------
MIB = 1024 * 1024
CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?>'
                 '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 '<Default Extension="xml" ContentType="application/xml"/></Types>')


def docx(parts: dict[str, bytes] | None = None, *, compresslevel: int = 1) -> bytes:
    """A DOCX (the parts Word needs to recognise one) with ``parts`` added, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        for name, data in {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": "<w:document/>",
                           **(parts or {})}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def odt(parts: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
        for name, data in (parts or {}).items():
            archive.writestr(name, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def docx_with_zeros(name: str, megabytes: int) -> bytes:
    """A DOCX whose part ``name`` inflates to ``megabytes`` MiB of zeros (written in 1 MiB steps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open(name, "w") as entry:
            for _ in range(megabytes):
                entry.write(b"\0" * MIB)
    return buffer.getvalue()


def with_encrypted_flag(content: bytes, name: str) -> bytes:
    """``content`` with the "encrypted" flag (bit 0) set on ``name``'s local and central headers,
    as an archiver does for a password-protected entry (Python's zipfile cannot write one)."""
    data = bytearray(content)
    encoded = name.encode()
    for signature, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        position = data.find(signature)
        while position >= 0:
            length = struct.unpack_from("<H", data, position + name_at - (2 if signature == b"PK\x03\x04" else 18))[0]
            if bytes(data[position + name_at:position + name_at + length]) == encoded:
                data[position + flags_at] |= 0x01
            position = data.find(signature, position + 4)
    return bytes(data)


def handmade_zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of stored entries (name, data, declared size), written by hand so that a declared
    size may lie; one over 4 GiB is declared the zip64 way (0xFFFFFFFF and a zip64 extra field)."""
    local, central = b"", b""
    for name, data, declared in entries:
        encoded, crc = name.encode(), zlib.crc32(data)
        sizes, extra = (len(data), declared), b""
        if declared >= 0xFFFFFFFF:
            sizes, extra = (0xFFFFFFFF, 0xFFFFFFFF), struct.pack("<HHQQ", 1, 16, declared, len(data))
        central += (struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 45, 45, 0, 0, 0, 0, crc, *sizes, len(encoded),
                                len(extra), 0, 0, 0, 0, len(local)) + encoded + extra)
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, 0, 0, 0, 0, crc, *sizes, len(encoded), 0) + encoded + data
    return local + central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central),
                                         len(local), 0)


def encrypted_docx() -> bytes:
    """A real password-protected DOCX, as Word writes it: an OLE container (MS-OFFCRYPTO agile)."""
    source = OOXMLFile(io.BytesIO(docx()))
    out = io.BytesIO()
    source.encrypt("mot-de-passe", out)
    return out.getvalue()


def legacy_doc() -> bytes:
    """A minimal Word 97-2003 file: an OLE compound file (version 3) holding one WordDocument stream."""
    end, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16)
              + struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", 0, *[free] * 108))
    fat = struct.pack("<128I", fat_sector, end, *range(3, 10), end, *[free] * 118)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBBIII", len(encoded), kind, 1, no_stream, no_stream, child)
                + bytes(16) + struct.pack("<IQQIQ", 0, 0, 0, start, size))

    empty = bytes(64) + struct.pack("<HBBIII", 0, 0, 0, no_stream, no_stream, no_stream) + bytes(16 + 28)
    directory = entry("Root Entry", 5, 1, end, 0) + entry("WordDocument", 2, no_stream, 2, 4096) + empty * 2
    return header + fat + directory + b"\xec\xa5" + bytes(4094)


def pdf_encrypted_by_pypdf(**encryption) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(**encryption)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_an_encrypted_xref_stream() -> bytes:
    """A PDF 1.5 whose cross-reference stream's dictionary (no trailer keyword) names /Encrypt."""
    return (b"%PDF-1.5\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"9 0 obj\n<< /Type /XRef /Size 10 /W [1 2 1] /Root 1 0 R /Encrypt 8 0 R /Length 0 >>\nstream\n"
            b"\nendstream\nendobj\nstartxref\n60\n%%EOF\n")


def refusal(content: bytes, name: str = "piece.docx") -> str:
    with pytest.raises(InvalidInput) as refused:
        check_upload(SimpleUploadedFile(name, content))
    return refused.value.message


def test_a_document_inflating_past_the_limit_is_refused_as_a_bomb_without_being_inflated():
    bomb = docx_with_zeros("word/media/image1.png", 200)  # 200 MiB of zeros in under 1 MB
    assert len(bomb) < 1 * MIB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    message = refusal(bomb)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50
    assert "occuperait 200 Mo (au plus 100 Mo)" in message and "bombe de décompression" in message


def test_a_size_declared_the_zip64_way_counts_too():
    content = handmade_zip([("[Content_Types].xml", CONTENT_TYPES.encode(), len(CONTENT_TYPES)),
                            ("word/document.xml", b"<w:document/>", 5 * 1024 * MIB)])
    assert zipfile.ZipFile(io.BytesIO(content)).getinfo("word/document.xml").file_size == 5 * 1024 * MIB
    assert "occuperait 5120 Mo" in refusal(content)


def test_an_archive_whose_directory_holds_more_entries_than_it_declares_is_not_a_document():
    honest = handmade_zip([("[Content_Types].xml", CONTENT_TYPES.encode(), len(CONTENT_TYPES)),
                           ("word/document.xml", b"<w:document/>", 13), ("word/extra.xml", b"<x/>", 4)])
    assert sniff(honest) == DOCX_MIMETYPE
    lying = honest[:-14] + struct.pack("<HH", 2, 2) + honest[-10:]  # the end record says 2 entries, not 3
    assert len(zipfile.ZipFile(io.BytesIO(lying)).namelist()) == 3  # zipfile reads past the declared count
    assert sniff(lying) is None
    assert "Seuls les documents PDF, ODT ou DOCX" in refusal(lying)


def test_the_total_limit_is_a_setting(settings):
    settings.HDH_UPLOAD_MAX_UNCOMPRESSED_BYTES = 2 * MIB
    message = refusal(docx({"word/media/a.bin": os.urandom(MIB), "word/media/b.bin": os.urandom(MIB + 10)},
                           compresslevel=0))
    assert "occuperait 2 Mo (au plus 2 Mo)" in message


def test_a_part_inflating_more_than_the_ratio_is_refused_even_under_the_total_limit():
    message = refusal(docx_with_zeros("word/document2.xml", 5))
    assert "(word/document2.xml)" in message and "au plus 100 fois" in message
    assert "bombe de décompression" in message


def test_an_ordinary_document_with_a_large_compressible_part_is_accepted():
    paragraphs = b"".join(b"<w:p><w:r><w:t>" + os.urandom(16).hex().encode() + b"</w:t></w:r></w:p>"
                          for _ in range(40000))  # 2.6 MB of XML, compressed about 3 times
    content = docx({"word/document.xml": paragraphs})
    assert check_upload(SimpleUploadedFile("protocole.docx", content)).content_type == DOCX_MIMETYPE


def test_a_small_but_very_repetitive_part_is_not_taken_for_a_bomb():
    content = docx({"word/styles.xml": b" " * 500_000})  # ratio above 100, but under 1 MiB
    assert check_upload(SimpleUploadedFile("protocole.docx", content)).content_type == DOCX_MIMETYPE


def test_an_archive_with_too_many_entries_is_refused_before_its_directory_is_read(settings):
    settings.HDH_UPLOAD_MAX_ZIP_ENTRIES = 50
    message = refusal(docx({f"word/media/image{i}.png": b"x" for i in range(60)}))
    assert "62 fichiers internes (au plus 50)" in message


def test_an_encrypted_entry_is_refused():
    content = with_encrypted_flag(docx({"word/secret.xml": b"<secret/>"}), "word/secret.xml")
    assert zipfile.ZipFile(io.BytesIO(content)).getinfo("word/secret.xml").flag_bits & 0x1
    assert "chiffré (protégé par un mot de passe)" in refusal(content)


@pytest.mark.parametrize("name", ["word/vbaProject.bin", "WORD/VBAPROJECT.BIN", "customXml/deep/vbaproject.bin",
                                  "word/vbaData.xml", "word/vbaProjectSignature.bin"])
def test_a_docx_with_vba_macros_is_refused(name):
    message = refusal(docx({name: b"\xd0\xcf\x11\xe0 macro"}), "protocole.docm")
    assert f"contient des macros ({name})" in message


@pytest.mark.parametrize("name", ["Basic/Standard/Module1.xml", "Basic/script-lc.xml", "Scripts/python/macro.py",
                                  "scripts/javascript/m.js"])
def test_an_odt_with_basic_or_script_macros_is_refused(name):
    assert f"contient des macros ({name})" in refusal(odt({name: b"Sub Main\nEnd Sub"}), "formulaire.odt")


def test_an_odt_with_pictures_and_settings_is_accepted():
    content = odt({"Pictures/1.png": b"\x89PNG", "settings.xml": b"<s/>", "META-INF/manifest.xml": b"<m/>"})
    assert check_upload(SimpleUploadedFile("formulaire.odt", content)).content_type == (
        "application/vnd.oasis.opendocument.text")


def test_a_password_protected_docx_is_refused_as_encrypted_not_as_an_unknown_type():
    content = encrypted_docx()
    assert content.startswith(bytes.fromhex("d0cf11e0a1b11ae1"))  # an OLE container, not a zip
    message = refusal(content)
    assert "Le document est chiffré" in message and "Seuls les documents" not in message


def test_a_word_97_document_is_refused_with_the_format_named():
    content = legacy_doc()
    assert olefile.OleFileIO(io.BytesIO(content)).listdir() == [["WordDocument"]]
    assert "format Office 97-2003 (.doc)" in refusal(content, "protocole.doc")


@pytest.mark.parametrize("encryption", [
    {"user_password": "secret", "algorithm": "RC4-128"},
    {"user_password": "", "owner_password": "proprietaire", "algorithm": "AES-256"},  # restrictions only
], ids=["password", "owner-restrictions"])
def test_an_encrypted_pdf_is_refused(encryption):
    assert "Le PDF est chiffré" in refusal(pdf_encrypted_by_pypdf(**encryption), "protocole.pdf")


def test_a_pdf_encrypted_through_its_cross_reference_stream_is_refused():
    assert "Le PDF est chiffré" in refusal(pdf_with_an_encrypted_xref_stream(), "protocole.pdf")


def test_a_pdf_that_only_mentions_encrypt_in_its_text_is_accepted():
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "Guide /Encrypt et /EncryptMetadata"})
    out = io.BytesIO()
    writer.write(out)
    content = out.getvalue() + b"% /Encrypt in a comment after the trailer\n"
    assert check_upload(SimpleUploadedFile("guide.pdf", content)).content_type == "application/pdf"


def test_a_refused_upload_through_the_portal_says_why_and_stores_nothing(client, make_request, applicant,
                                                                       attachment_storage):
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]), with_form_token(client, {
        "kind": "protocol", "file": SimpleUploadedFile("protocole.docx", docx({"word/vbaProject.bin": b"vba"}))}))
    assert response.status_code == 400
    assert "Le document contient des macros (word/vbaProject.bin)" in response.content.decode()
    assert not Attachment.objects.exists() and stored_files(attachment_storage) == []


@settings_hypothesis(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(["docx", "odt", "zip64"]), cuts=st.lists(st.tuples(st.integers(0, 10_000), st.binary(
    min_size=0, max_size=8)), max_size=4))
def test_a_damaged_archive_is_refused_with_a_message_never_an_error(base, cuts):
    content = bytearray({"docx": docx({"word/vbaProject.bin": b"v"}), "odt": odt({"Pictures/a.png": b"p"}),
                         "zip64": handmade_zip([("word/document.xml", b"<w:document/>", 5 * 1024 * MIB)])}[base])
    for position, data in cuts:  # overwrite bytes anywhere, the directory and end record included
        position %= len(content)
        content[position:position + len(data)] = data
    try:
        checked = check_upload(SimpleUploadedFile("piece.docx", bytes(content)))
    except InvalidInput as refused:
        assert refused.message
    else:  # the type comes from the bytes: a cut that writes "%PDF-" first makes a PDF, whatever the name says
        expected = ("application/pdf",) if content.startswith(b"%PDF-") else (
            DOCX_MIMETYPE, "application/vnd.oasis.opendocument.text")
        assert checked.content_type in expected
