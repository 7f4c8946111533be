"""Real services for the fault tests, each a child process stopped by its own pid.

- ``RedisServer``: a private redis-server on a free port (``--save "" --appendonly no``),
  never the shared one on 6379;
- ``CeleryProcess``: ``celery -A hdh_access worker --pool=solo`` or ``beat``, on the test
  database (``database_url``), the private Redis and the test SMTP server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

CELERY = Path(sys.executable).with_name("celery")


def database_url() -> str:
    """A URL for the test database this process uses: the child processes must share it."""
    from django.db import connection

    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


def wait_for(predicate, *, timeout: float, what: str, log: Path | None = None, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n--- log ---\n{tail}")


class RedisServer:
    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> RedisServer:
        import redis

        log = self.folder / f"redis-{self.port}.log"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--logfile", str(log), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)

        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"redis-server on {self.port} exited with {self.process.returncode}: {log.read_text()}")
            try:
                return client.ping()
            except redis.exceptions.RedisError:
                return False

        wait_for(ready, timeout=10, what=f"redis-server on port {self.port}", log=log)
        client.close()
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to this server's pid only, and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


class CeleryProcess:
    def __init__(self, kind: str, *, env: dict[str, str], log: Path, cwd: Path, args: list[str]) -> None:
        self.kind, self.env, self.log, self.cwd, self.args = kind, env, log, cwd, args
        self.process: subprocess.Popen | None = None
        self._offset = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, ready_marker: str, timeout: float = 40.0) -> CeleryProcess:
        return self.launch().wait_until(ready_marker, timeout)

    def launch(self) -> CeleryProcess:
        """Start the process without waiting (``wait_until`` then waits): several start together."""
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as output:
            self.process = subprocess.Popen([str(CELERY), "-A", "hdh_access", self.kind, *self.args], cwd=self.cwd,
                                            env=self.env, stdout=output, stderr=subprocess.STDOUT)
        return self

    def wait_until(self, ready_marker: str, timeout: float = 40.0) -> CeleryProcess:
        """Wait for ``ready_marker`` in what the process logged since it was launched."""
        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"celery {self.kind} exited with {self.process.returncode}:\n"
                            f"{self.log.read_text(errors='replace')[-4000:]}")
            return ready_marker in self.log.read_text(errors="replace")[self._offset:]

        wait_for(ready, timeout=timeout, what=f"celery {self.kind} to start", log=self.log, interval=0.1)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @contextlib.contextmanager
    def paused(self):
        """SIGSTOP to this process's pid for the block, SIGCONT after it: it does nothing meanwhile."""
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield self
        finally:
            os.kill(self.process.pid, signal.SIGCONT)

    def idle(self) -> bool:
        """A worker's log (``-l info``) shows as many tasks finished as received since its start."""
        text = self.log.read_text(errors="replace")[self._offset:]
        finished = sum(text.count(word) for word in ("] succeeded in ", "] raised unexpected", "] retry: "))
        return text.count("] received") == finished

    def kill(self) -> None:
        """SIGKILL to this process's pid: no cleanup, no acknowledgement, like a crash."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
