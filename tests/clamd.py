"""A real ClamAV daemon for the antivirus tests, on its own socket, with its own signatures.

freshclam cannot download the official databases here (no internet), and they would take
seconds to load: each daemon gets a one-line signature database that detects the EICAR test
string, and starts in well under a second. The Debian package is clamav-daemon (``make clamav``);
without it the tests that need clamd fail, they are never skipped.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

# The EICAR antivirus test file, in two halves so that this source file is not itself detected.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Hdh.Test.EICAR"
# clamd names a signature from a database of its own folder "<name>.UNOFFICIAL".
FOUND_AS = f"{SIGNATURE}.UNOFFICIAL"
# Small, so that a test can exceed it and see clamd's ERROR.
STREAM_MAX_BYTES = 1024 * 1024


def clamd_binary() -> str:
    found = shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        pytest.fail("clamd is missing: install the Debian package clamav-daemon (`make clamav`)", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Clamd:
    """One clamd process: ``start()``, ``stop()`` (by its pid), ``socket_path``, ``tcp_address``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket_path = str(folder / "clamd.sock")
        self.port = free_port()
        self.tcp_address = f"tcp://127.0.0.1:{self.port}"
        self.log = folder / "clamd.log"
        self.process: subprocess.Popen | None = None
        database = folder / "db"
        database.mkdir(parents=True, exist_ok=True)
        # An extended signature (.ndb): name, target type 0 (any file), offset * (anywhere), hex.
        (database / "hdh-test.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
        self.config = folder / "clamd.conf"
        self.config.write_text(
            f"Foreground yes\nLocalSocket {self.socket_path}\nTCPSocket {self.port}\nTCPAddr 127.0.0.1\n"
            f"DatabaseDirectory {database}\nTemporaryDirectory {folder}\nLogFile {self.log}\n"
            f"StreamMaxLength {STREAM_MAX_BYTES}\n")

    def start(self, timeout: float = 15.0) -> None:
        self.process = subprocess.Popen([clamd_binary(), "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"clamd exited with {self.process.returncode}: {self._log_tail()}", pytrace=False)
            if self._pong():
                return
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"clamd did not answer within {timeout} s: {self._log_tail()}", pytrace=False)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _pong(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(self.socket_path)
                sock.sendall(b"zPING\0")
                return sock.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else "(no log)"


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    """A clamd for the whole session (unix socket and TCP on 127.0.0.1), stopped at the end."""
    daemon = Clamd(tmp_path_factory.mktemp("clamd"))
    daemon.start()
    yield daemon
    daemon.stop()
