"""Rendering reads the site's static files and nothing else: no network, no other file."""

from __future__ import annotations

import http.server
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
