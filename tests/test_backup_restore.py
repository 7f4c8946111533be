"""Backups restore (docs/operations.md, "Backups"): the procedure written there, run for real.

A database holding requests made through the services (events, holder tasks and their events,
attachments) is dumped with ``pg_dump --format=custom`` and its attachments folder archived with
``tar``; both are restored (``pg_restore`` into a fresh database, the archive into a fresh folder)
and compared: every table's rows and checksum, every attachment's bytes against the SHA-256 its
row records, the delay report the application computes from each. The restored event logs are
still append-only: their triggers come back with the tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from access_requests.models import Attachment, Event, HolderTaskEvent
from access_requests.workflow import State
from delays.report import build_report
from hdh_access.lib.cli import parse_as_of
from tests.conftest import use_private_media

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2030-01-01"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _url(database: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgresql://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{database}"


def _connect(database: str):
    db = psycopg2.connect(_url(database))
    db.autocommit = True
    return db


@pytest.fixture
def restored_database():
    """A fresh database's name, dropped after the test (and before it, should a crashed run have left it)."""
    name = f"{connection.settings_dict['NAME']}_restored"[:63]
    admin = _connect("postgres")

    def drop():
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    drop()
    admin.close()


def tables(db) -> list[str]:
    with db.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                       "AND table_type = 'BASE TABLE' ORDER BY table_name")
        return [name for (name,) in cursor.fetchall()]


def contents(db) -> dict[str, tuple[int, str]]:
    """Each table's row count and the MD5 of its rows as text, in a fixed order."""
    found = {}
    with db.cursor() as cursor:
        for table in tables(db):
            cursor.execute(f'SELECT count(*), md5(coalesce(string_agg(t::text, E\'\\n\' ORDER BY t::text), \'\')) '
                           f'FROM "{table}" AS t')
            found[table] = cursor.fetchone()
    return found


def refused(db, statement: str) -> str:
    """The error a statement meets (in a transaction rolled back), or "" when it succeeds."""
    db.autocommit = False
    try:
        with db.cursor() as cursor:
            cursor.execute(statement)
        return ""
    except psycopg2.Error as error:
        return str(error)
    finally:
        db.rollback()
        db.autocommit = True


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command[0]}: {result.stderr}"
    return result


def test_a_dump_restored_into_a_fresh_database_holds_the_same_data_and_the_logs_stay_append_only(
        make_request, production_completeness, settings, tmp_path, monkeypatch, restored_database):
    media = use_private_media(settings, tmp_path, monkeypatch)
    make_request(State.CONTRACTING, other_holders="open")
    make_request(State.CLOSED)
    make_request(State.AWAITING_APPLICANT, paused_from=State.CESREES_REVIEW)
    assert Event.objects.count() > 10 and HolderTaskEvent.objects.exists() and Attachment.objects.count() == 6

    # The backup, as docs/operations.md writes it.
    dump, archive = tmp_path / "hdh.dump", tmp_path / "private.tar.gz"
    run("pg_dump", "--format=custom", f"--file={dump}", _url(connection.settings_dict["NAME"]))
    run("tar", "-C", str(media), "-czf", str(archive), ".")

    # The restore, into a fresh database and a fresh folder.
    run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_url(restored_database)}", str(dump))
    restored_media = tmp_path / "restored-private"
    restored_media.mkdir()
    run("tar", "-C", str(restored_media), "-xzf", str(archive))

    original, restored = _connect(connection.settings_dict["NAME"]), _connect(restored_database)
    try:
        expected = contents(original)
        assert expected["access_requests_event"][0] == Event.objects.count()
        assert contents(restored) == expected
        with restored.cursor() as cursor:
            cursor.execute("SELECT file, sha256, size FROM access_requests_attachment")
            for name, sha256, size in cursor.fetchall():
                data = (restored_media / name).read_bytes()
                assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha256, size)
        for table in ("access_requests_event", "access_requests_holdertaskevent"):
            for statement in (f"UPDATE {table} SET comment = 'rewritten'", f"DELETE FROM {table}",
                              f"TRUNCATE {table} CASCADE"):
                assert "is append-only" in refused(restored, statement), statement
    finally:
        original.close()
        restored.close()

    # The application reads the restored database as it read the original.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL")}
    env.update(DEBUG="true", DATABASE_URL=_url(restored_database))
    report = run(sys.executable, "manage.py", "delay_report", "--detail", "--as-of", AS_OF, cwd=ROOT, env=env)
    assert json.loads(report.stdout) == json.loads(json.dumps(build_report(parse_as_of(AS_OF), detail=True)))
