import io
import resource
import zipfile

from access_requests.attachments import sniff


def test_a_zip_bomb_posing_as_an_odt_is_refused_without_being_inflated():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("mimetype", "w") as entry:
        for _ in range(300):
            entry.write(b"\0" * (1 << 20))  # 300 MB of zeros, about 300 kB compressed
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
