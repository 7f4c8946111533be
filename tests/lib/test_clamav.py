"""The clamd INSTREAM client (hdh_access/lib/clamav.py), against a real clamd and, for what
clamd would not show (the bytes on the wire, a daemon that never answers), a local socket."""

from __future__ import annotations

import io
import socket
import struct
import threading
import time

import pytest

from hdh_access.lib import clamav
from tests.clamd import EICAR, FOUND_AS, STREAM_MAX_BYTES


def test_clean_bytes_are_ok_over_the_unix_socket(clamd):
    assert clamav.scan(b"%PDF-1.4\nun protocole\n", address=clamd.socket_path, timeout=5) == clamav.Verdict("clean")


def test_the_eicar_string_is_found_with_its_signature_over_tcp(clamd):
    verdict = clamav.scan(b"%PDF-1.4\n%" + EICAR + b"\n%%EOF\n", address=clamd.tcp_address, timeout=5)
    assert verdict == clamav.Verdict("infected", FOUND_AS)


def test_a_file_is_streamed_in_chunks_and_a_signature_across_two_chunks_is_still_found(clamd):
    content = b"A" * 1000 + EICAR + b"B" * 1000
    # 37-byte chunks: the signature straddles chunk boundaries.
    verdict = clamav.scan(io.BytesIO(content), address=clamd.socket_path, timeout=5, chunk_bytes=37)
    assert verdict.status == "infected" and verdict.detail == FOUND_AS


def test_past_clamds_stream_limit_the_verdict_is_clamds_error(clamd):
    verdict = clamav.scan(b"\0" * (STREAM_MAX_BYTES + 1), address=clamd.socket_path, timeout=5)
    assert verdict.status == "error"
    assert "size limit exceeded" in verdict.detail


def test_no_daemon_at_the_address_is_unavailable(tmp_path):
    with pytest.raises(clamav.ClamdUnavailable, match="unreachable"):
        clamav.scan(b"x", address=str(tmp_path / "none.sock"), timeout=1)
    with pytest.raises(clamav.ClamdUnavailable):
        clamav.scan(b"x", address=f"tcp://127.0.0.1:{_closed_port()}", timeout=1)


class _Listener:
    """A local Unix socket that records what it receives and answers ``reply`` (or nothing)."""

    def __init__(self, path: str, reply: bytes | None) -> None:
        self.received = b""
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.reply = reply
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _address = self.server.accept()
        with connection:
            connection.settimeout(5)
            while not self.received.endswith(b"\0\0\0\0"):
                data = connection.recv(65536)
                if not data:
                    return
                self.received += data
            if self.reply is None:
                time.sleep(1)  # never answers in time
            else:
                connection.sendall(self.reply)

    def close(self) -> None:
        self.thread.join(timeout=5)
        self.server.close()


def test_the_bytes_on_the_wire_are_the_instream_command_then_length_prefixed_chunks_then_a_zero_length(tmp_path):
    listener = _Listener(str(tmp_path / "c.sock"), b"stream: OK\0")
    verdict = clamav.scan([b"abcdefgh", b"ij"], address=str(tmp_path / "c.sock"), timeout=2, chunk_bytes=5)
    listener.close()
    assert verdict.status == "clean"
    expected = b"zINSTREAM\0"
    for chunk in (b"abcde", b"fgh", b"ij"):
        expected += struct.pack(">I", len(chunk)) + chunk
    assert listener.received == expected + b"\0\0\0\0"


def test_a_daemon_that_never_answers_is_given_up_after_the_timeout(tmp_path):
    listener = _Listener(str(tmp_path / "slow.sock"), None)
    started = time.monotonic()
    with pytest.raises(clamav.ClamdUnavailable, match="did not answer"):
        clamav.scan(b"x", address=str(tmp_path / "slow.sock"), timeout=0.3)
    assert time.monotonic() - started < 2
    listener.close()


@pytest.mark.parametrize("reply, verdict", [
    (b"stream: OK\0", clamav.Verdict("clean")),
    (b"stream: Win.Test.EICAR_HDB-1 FOUND\0", clamav.Verdict("infected", "Win.Test.EICAR_HDB-1")),
    (b"INSTREAM size limit exceeded. ERROR\0", clamav.Verdict("error", "INSTREAM size limit exceeded.")),
    (b"UNKNOWN COMMAND\0", clamav.Verdict("error", "unexpected reply: 'UNKNOWN COMMAND'")),
])
def test_replies_are_read_as_verdicts(reply, verdict):
    assert clamav.parse_reply(reply) == verdict


@pytest.mark.parametrize("raw, expected", [
    ("/run/clamav/clamd.ctl", clamav.Address("unix", path="/run/clamav/clamd.ctl")),
    ("tcp://clamav.internal:3310", clamav.Address("tcp", host="clamav.internal", port=3310)),
    ("tcp://127.0.0.1:3310/", clamav.Address("tcp", host="127.0.0.1", port=3310)),
])
def test_an_address_is_a_socket_path_or_tcp_host_and_port(raw, expected):
    assert clamav.parse_address(raw) == expected


@pytest.mark.parametrize("raw", ["clamd.sock", "clamav:3310", "tcp://clamav", "tcp://clamav:port", "udp://h:1",
                                 "tcp://:3310", "tcp://h:3310/path"])
def test_other_addresses_are_refused(raw):
    with pytest.raises(ValueError):
        clamav.parse_address(raw)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
