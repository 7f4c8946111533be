"""Rendering reads the site's static files and nothing else: no network, no other file."""

from __future__ import annotations

import http.server
import os
import threading

import pytest
import weasyprint

from documents.pdf import BASE_URL, StaticFetcher, static_path


@pytest.fixture
def counting_server():
    """A local HTTP server that counts the requests it receives."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def test_the_print_stylesheet_and_the_fonts_are_served_from_the_static_files():
    css = static_path(BASE_URL + "static/documents/print.css")
    assert css is not None and css.endswith("documents/static/documents/print.css")
    font = StaticFetcher().fetch(BASE_URL + "static/dsfr/dist/fonts/Marianne-Regular.woff2")
    assert font.content_type == "font/woff2" and len(font.read()) > 10_000


@pytest.mark.parametrize("url", [
    "https://example.org/static/documents/print.css",  # another host
    "http://documents.invalid/static/documents/print.css",  # another scheme
    "file:///etc/passwd",
    "data:text/css,body{}",
    BASE_URL + "static/../hdh_access/settings.py",
    BASE_URL + "static/%2e%2e/hdh_access/settings.py",
    BASE_URL + "static//etc/passwd",
    BASE_URL + "static/documents/nothing-here.css",
    BASE_URL + "media/attachments/2025/01/protocole.pdf",
])
def test_every_other_url_is_refused(url):
    assert static_path(url) is None
    with pytest.raises(ValueError, match="only static files"):
        StaticFetcher().fetch(url)


def test_a_document_naming_a_server_or_a_file_fetches_nothing(counting_server, tmp_path, caplog):
    origin, hits = counting_server
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: blue }")
    html = (f'<link rel="stylesheet" href="{origin}/style.css"><link rel="stylesheet" href="file://{secret}">'
            f'<img src="{origin}/pixel.png" alt=""><p>Bonjour</p>')
    pdf = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFetcher()).write_pdf()
    assert pdf.startswith(b"%PDF-")
    assert hits == []
    assert "only static files" in caplog.text


def test_the_stylesheet_is_parsed_once_per_thread_and_again_when_it_changes(tmp_path, settings):
    from documents import pdf

    pdf._threads.__dict__.pop("style", None)
    first = pdf.print_style()
    assert pdf.print_style()[0] is first[0] and pdf.print_style()[1] is first[1]  # parsed once, fonts loaded once

    other: list = []
    thread = threading.Thread(target=lambda: other.append(pdf.print_style()))
    thread.start()
    thread.join()
    assert other[0][0] is not first[0] and other[0][1] is not first[1]  # a thread has its own fonts

    # A stylesheet edited in place (runserver serves the source files) is read again.
    source = tmp_path / "documents"
    source.mkdir()
    (source / "print.css").write_text("body { color: #000091 }")
    settings.STATICFILES_DIRS = [str(tmp_path)]
    edited = pdf.print_style()
    assert pdf.static_path(BASE_URL + "static/documents/print.css") == str(source / "print.css")
    assert edited[0] is not first[0]
    (source / "print.css").write_text("body { color: #161616 }")
    os.utime(source / "print.css", ns=(1, 1))
    assert pdf.print_style()[0] is not edited[0]
    pdf._threads.__dict__.pop("style", None)


def test_a_document_is_styled_by_the_print_stylesheet_and_its_fonts():
    from documents.pdf import render_pdf
    from tests.documents.helpers import pdf_reader

    for _ in range(2):  # the second from the stylesheet parsed by the first
        reader = pdf_reader(render_pdf("documents/_document.html", {"generated_at": None}, language="fr"))
        fonts = {font.get_object()["/BaseFont"].split("+")[-1] for font in reader.pages[0]["/Resources"]["/Font"].values()}
        assert fonts == {"Marianne", "Marianne-Bold"}, fonts
        assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4, from @page


def test_a_stylesheet_whose_font_failed_is_not_kept_and_a_kept_one_is_read_again_after_an_hour(
        tmp_path, settings, monkeypatch, caplog):
    from documents import pdf

    pdf._threads.__dict__.pop("style", None)
    source = tmp_path / "documents"
    source.mkdir()
    (source / "print.css").write_text('@font-face { font-family: "Absente"; src: url("absente.woff2") format("woff2"); }'
                                      ' body { font-family: "Absente", sans-serif }')
    settings.STATICFILES_DIRS = [str(tmp_path)]
    first = pdf.print_style()
    assert "cannot be loaded" in caplog.text
    assert pdf.print_style()[0] is not first[0]  # tried again: the font may be there now

    (source / "print.css").write_text("body { color: #161616 }")
    kept = pdf.print_style()
    assert pdf.print_style()[0] is kept[0]
    monkeypatch.setattr(pdf, "STYLE_MAX_AGE_SECONDS", 0)
    assert pdf.print_style()[0] is not kept[0]
    pdf._threads.__dict__.pop("style", None)
