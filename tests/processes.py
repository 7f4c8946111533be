"""Helpers for tests that start real server processes (gunicorn, PgBouncer) and stop them by pid."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the system's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: dict, *, host: str | None = None, port: int | None = None, query: str = "") -> str:
    """A DATABASE_URL for the database of ``settings_dict`` (the test database in a test), optionally
    through another host and port (a PgBouncer in front of it)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = f":{quote(settings_dict['PASSWORD'], safe='')}" if settings_dict.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    host = host or settings_dict.get("HOST") or "127.0.0.1"
    port = port or settings_dict.get("PORT")
    address = f"{host}:{port}" if port else host
    return f"postgres://{credentials}{address}/{settings_dict['NAME']}" + (f"?{query}" if query else "")


def other_sessions() -> set[int]:
    """The pids of the other sessions on this test's database. A fixture that starts processes
    reads it before them, then waits for the sessions that appeared since to end: sessions it did
    not start (another test's, in this process) are none of its business."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return {pid for (pid,) in cursor.fetchall()}


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else ""


def wait_until(predicate, *, timeout: float, what: str, process: subprocess.Popen | None = None,
               log: Path | None = None):
    """Poll ``predicate`` until it returns something true; fail with the process's log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: the process exited with {process.returncode}\n--- log ---\n{log_tail(log) if log else ''}")
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n--- log ---\n{log_tail(log) if log else ''}")


def answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


def stop(process: subprocess.Popen, *, timeout: float = 20) -> None:
    """SIGTERM to the process (gunicorn and PgBouncer shut down on it), SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def server_environment(**extra: str) -> dict[str, str]:
    """This process's environment without what the browser tests set for themselves, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE",)}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env
