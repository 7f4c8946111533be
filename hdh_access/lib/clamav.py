"""A small client of the ClamAV daemon (clamd): send bytes with INSTREAM, read the verdict.

The protocol (clamd(8), "INSTREAM"): send ``zINSTREAM\\0``, then the data in chunks, each
prefixed by its length as 4 bytes big-endian, then a chunk of length zero. clamd answers one
line ended by a NUL: ``stream: OK``, ``stream: <signature> FOUND``, or ``<reason> ERROR`` (for
instance ``INSTREAM size limit exceeded. ERROR`` past its ``StreamMaxLength``).

No Django here: the address and the timeout are arguments. An address is a Unix socket path
(``/run/clamav/clamd.ctl``) or ``tcp://host:port``.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, Literal
from urllib.parse import urlsplit

CHUNK_BYTES = 64 * 1024
REPLY_MAX_BYTES = 4096


class ClamdUnavailable(OSError):
    """clamd could not be reached, or did not answer in time: try again later."""


@dataclass(frozen=True)
class Address:
    family: Literal["unix", "tcp"]
    path: str = ""
    host: str = ""
    port: int = 0

    def __str__(self) -> str:
        return self.path if self.family == "unix" else f"tcp://{self.host}:{self.port}"


@dataclass(frozen=True)
class Verdict:
    """What clamd said: ``clean``, ``infected`` (``detail`` is the signature) or ``error``
    (``detail`` is clamd's reason)."""

    status: Literal["clean", "infected", "error"]
    detail: str = ""


def parse_address(raw: str) -> Address:
    """A Unix socket path (absolute) or ``tcp://host:port``; ValueError otherwise."""
    raw = raw.strip()
    if raw.startswith("/"):
        return Address("unix", path=raw)
    if raw.startswith("tcp://"):
        parts = urlsplit(raw)
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None or parts.path not in ("", "/") or parts.query:
            raise ValueError(f"expected tcp://host:port, got {raw!r}")
        return Address("tcp", host=parts.hostname, port=port)
    raise ValueError(f"expected an absolute Unix socket path or tcp://host:port, got {raw!r}")


def parse_reply(reply: bytes) -> Verdict:
    """clamd's answer to INSTREAM (without its NUL) as a verdict."""
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text.startswith("stream: "):
        text = text[len("stream: "):]
    if text == "OK":
        return Verdict("clean")
    if text.endswith(" FOUND"):
        return Verdict("infected", text[: -len(" FOUND")].strip())
    if text.endswith("ERROR"):
        return Verdict("error", text[: -len("ERROR")].strip() or "ERROR")
    return Verdict("error", f"unexpected reply: {text[:200]!r}")


def _connect(address: Address, timeout: float) -> socket.socket:
    try:
        if address.family == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(address.path)
            except BaseException:
                sock.close()
                raise
            return sock
        return socket.create_connection((address.host, address.port), timeout=timeout)
    except OSError as error:
        raise ClamdUnavailable(f"clamd at {address} unreachable: {error}") from error


def _read_reply(sock: socket.socket) -> bytes:
    reply = b""
    while b"\0" not in reply and len(reply) < REPLY_MAX_BYTES:
        data = sock.recv(REPLY_MAX_BYTES)
        if not data:
            break
        reply += data
    return reply.split(b"\0", 1)[0]


def _chunks(data: bytes | BinaryIO | Iterable[bytes], chunk_bytes: int) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), chunk_bytes):
            yield bytes(view[start:start + chunk_bytes])
    elif hasattr(data, "read"):
        while chunk := data.read(chunk_bytes):
            yield chunk
    else:
        for piece in data:
            for start in range(0, len(piece), chunk_bytes):
                yield piece[start:start + chunk_bytes]


def scan(data: bytes | BinaryIO | Iterable[bytes], *, address: Address | str, timeout: float,
         chunk_bytes: int = CHUNK_BYTES) -> Verdict:
    """Stream ``data`` (bytes, a binary file or an iterable of bytes) to clamd and return its verdict.

    ``timeout`` bounds each connect, send and receive, in seconds. Raises ClamdUnavailable when
    clamd cannot be reached, closes without answering or does not answer in time.
    """
    if isinstance(address, str):
        address = parse_address(address)
    if not 0 < chunk_bytes < 2**32:
        raise ValueError("chunk_bytes must fit in 4 bytes")
    sock = _connect(address, timeout)
    with sock:
        try:
            try:
                sock.sendall(b"zINSTREAM\0")
                for chunk in _chunks(data, chunk_bytes):
                    if chunk:
                        sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                sock.sendall(struct.pack(">I", 0))
            except (BrokenPipeError, ConnectionResetError):
                # clamd stops reading past its StreamMaxLength and says why before closing.
                pass
            reply = _read_reply(sock)
        except OSError as error:  # a timeout, a reset
            raise ClamdUnavailable(f"clamd at {address} did not answer: {error}") from error
    if not reply:
        raise ClamdUnavailable(f"clamd at {address} closed the connection without a verdict")
    return parse_reply(reply)
