"""Real PostgreSQL clusters of the tests' own: a primary and its streaming replica.

The read replica's tests need a replica of the database the application writes to. The shared
server (port 5432) is not made a replication source: its pg_hba.conf has no ``replication`` line
and a base backup would copy every database on it (benchmarks hold gigabytes). So the tests start
a small primary of their own (``initdb``, trust on 127.0.0.1, ``fsync`` off: it is thrown away),
take its base backup with ``pg_basebackup -R -X stream`` and start that copy as a hot standby on
the next port. The clusters' files belong to ``postgres`` when the tests run as root (PostgreSQL
refuses to run as root). Both are stopped (``pg_ctl stop -m immediate``: their own postmaster, by its pid file)
and their folder removed when the ``with`` block ends, even on failure.

The binaries are Debian's (/usr/lib/postgresql/<major>/bin, the newest) or ``PG_BINDIR``'s; missing
binaries fail the tests, they are never skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg2
import pytest

# Seconds a cluster has to start, or the replica to replay what the primary wrote.
WAIT_SECONDS = 60


def bindir() -> Path:
    """The folder of initdb, pg_ctl and pg_basebackup: ``PG_BINDIR``, else Debian's newest
    /usr/lib/postgresql/<major>/bin."""
    if os.environ.get("PG_BINDIR"):
        folder = Path(os.environ["PG_BINDIR"])
    else:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
        folder = found[-1].parent if found else Path("/usr/lib/postgresql/<major>/bin")
    if not (folder / "pg_ctl").exists():
        pytest.fail(f"PostgreSQL's server binaries are not in {folder} (set PG_BINDIR)", pytrace=False)
    return folder


def _as_owner() -> list[str]:
    """Run the server's programs as postgres when we are root (it refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Cluster:
    """One PostgreSQL cluster on 127.0.0.1:``port``, superuser ``postgres`` without password."""

    def __init__(self, bin_folder: Path, data: Path, port: int) -> None:
        self.bin = bin_folder
        self.data = data
        self.port = port
        self.log = data.parent / f"{data.name}.log"
        self.started = False

    def run(self, program: str, *args: str) -> None:
        command = [*_as_owner(), str(self.bin / program), *args]
        result = subprocess.run(command, cwd=self.data.parent, capture_output=True, text=True, timeout=WAIT_SECONDS * 2)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise AssertionError(f"{program} failed ({result.returncode}): {result.stderr}{result.stdout}\n{log}")

    def start(self) -> None:
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data.parent} "
                   "-c fsync=off -c synchronous_commit=off -c shared_buffers=32MB -c max_connections=40 "
                   "-c hot_standby=on")
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", str(WAIT_SECONDS),
                 "start")
        self.started = True

    def stop(self) -> None:
        if self.started:
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")  # thrown away: no checkpoint
            self.started = False

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def query(self, sql: str, *params, database: str = "postgres") -> list[tuple]:
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()


def wait_for_replay(primary: Cluster, replica: Cluster) -> None:
    """Return once the replica has replayed everything the primary had written when called."""
    [(lsn,)] = primary.query("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        [(done,)] = replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", lsn)
        if done:
            return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not replay up to {lsn} in {WAIT_SECONDS} s")


@contextmanager
def primary_and_replica(*, port: int) -> Iterator[tuple[Cluster, Cluster]]:
    """A primary on ``port`` and its streaming hot standby on ``port + 1``, running inside the block."""
    bin_folder = bindir()
    folder = Path(tempfile.mkdtemp(prefix="hdh-replication-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        primary = Cluster(bin_folder, folder / "primary", port)
        replica = Cluster(bin_folder, folder / "replica", port + 1)
        # initdb's pg_hba.conf trusts local and 127.0.0.1 connections, replication ones included.
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                    "--locale=C.UTF-8", "--no-sync")
        stack.callback(primary.stop)
        primary.start()
        # -c fast: checkpoint at once rather than spread over minutes; -R: standby.signal and primary_conninfo.
        replica.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-D", str(replica.data),
                    "-R", "-X", "stream", "-c", "fast", "--no-sync")
        stack.callback(replica.stop)
        replica.start()
        [(in_recovery,)] = replica.query("SELECT pg_is_in_recovery()")
        assert in_recovery, "the copy did not start as a standby"
        yield primary, replica
