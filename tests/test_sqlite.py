"""SQLite, the embedded default (`make run`, `make smoke`): WAL, a busy timeout, and writing
transactions that take the write lock when they begin (issue #13: a double submit once gave
"database is locked").

The suite's own database is PostgreSQL, so each test runs the project's settings in a fresh
process on a SQLite file (DATABASE_URL=sqlite:///...), as `make run` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import django
from django.db import OperationalError, connection, transaction

ROOT = Path(__file__).resolve().parents[1]
HOLD = 0.5  # seconds each writer keeps its transaction open between its read and its write


def in_project(args: list[str], database: Path, **environment: str) -> str:
    """Run ``python args...`` from the project folder on the SQLite file ``database``; its output."""
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=f"sqlite:///{database}", DEBUG="true", DJANGO_SETTINGS_MODULE="hdh_access.settings",
               **environment)
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def race(keep_transaction_mode: bool) -> None:
    """Two threads, each its own connection: read a counter, wait, write it plus one, at once.

    Runs in the child process (``python -c``); prints what each writer got and the final value.
    """
    django.setup()  # the child process: the project's settings on the SQLite file
    if not keep_transaction_mode:  # Django's default: BEGIN DEFERRED, the lock taken at the first write
        connection.settings_dict["OPTIONS"].pop("transaction_mode")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        cursor.execute("INSERT INTO counter VALUES (1, 0)")
    connection.close()
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def write(name: str) -> None:
        try:
            start.wait(10)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT value FROM counter WHERE id = 1")
                value = cursor.fetchone()[0]
                time.sleep(HOLD)  # the other writer begins meanwhile
                cursor.execute("UPDATE counter SET value = %s WHERE id = 1", [value + 1])
            outcomes[name] = "ok"
        except OperationalError as exc:
            outcomes[name] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        final = cursor.fetchone()[0]
    print(json.dumps({"outcomes": outcomes, "value": final}))


def run_race(database: Path, *, keep_transaction_mode: bool) -> dict:
    code = f"from tests.test_sqlite import race; race(keep_transaction_mode={keep_transaction_mode})"
    return json.loads(in_project(["-c", code], database).strip().splitlines()[-1])


def test_the_configured_sqlite_database_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    code = (
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    for pragma in ('journal_mode', 'busy_timeout', 'synchronous'):\n"
        "        cursor.execute(f'PRAGMA {pragma}')\n"
        "        print(cursor.fetchone()[0])\n"
        "print(connection.transaction_mode)\n"
    )
    output = in_project(["manage.py", "shell", "--no-imports", "-c", code], tmp_path / "db.sqlite3")
    # WAL; a 20 s busy timeout; synchronous NORMAL (1), safe with WAL; BEGIN IMMEDIATE.
    assert output.split() == ["wal", "20000", "1", "IMMEDIATE"]


def test_two_threads_writing_the_same_sqlite_file_at_once_both_succeed(tmp_path):
    result = run_race(tmp_path / "db.sqlite3", keep_transaction_mode=True)
    assert result == {"outcomes": {"a": "ok", "b": "ok"}, "value": 2}  # the second waited: no lost update


def test_without_immediate_transactions_the_same_writers_collide(tmp_path):
    """What the option prevents: each reads, then both try to write; the later one cannot."""
    result = run_race(tmp_path / "db.sqlite3", keep_transaction_mode=False)
    assert sorted(result["outcomes"].values()) == ["database is locked", "ok"]
    assert result["value"] == 1


CROWD = 16  # writer threads
ROUNDS = 6  # writes each
CROWD_HOLD = 0.02  # seconds each transaction keeps the write lock


def crowd(queued: bool) -> None:
    """Many threads of one process writing one file in turn, as a server's requests do: each reads
    a counter and writes it plus one, ROUNDS times, half of them in a transaction and half as a
    bare UPDATE outside any transaction. Prints the errors and the final value.

    Runs in the child process, with a one-second busy timeout; ``queued=False`` uses Django's own
    SQLite backend (no queue of the process's writers), to show what the queue prevents.
    """
    if not queued:
        from django.conf import settings

        settings.DATABASES["default"]["ENGINE"] = "django.db.backends.sqlite3"
    django.setup()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        cursor.execute("INSERT INTO counter VALUES (1, 0)")
    connection.close()
    start = threading.Barrier(CROWD)
    errors: list[str] = []

    def write(in_transaction: bool) -> None:
        try:
            start.wait(10)
            for _round in range(ROUNDS):
                try:
                    if in_transaction:
                        with transaction.atomic(), connection.cursor() as cursor:
                            cursor.execute("SELECT value FROM counter WHERE id = 1")
                            value = cursor.fetchone()[0]
                            time.sleep(CROWD_HOLD)
                            cursor.execute("UPDATE counter SET value = %s WHERE id = 1", [value + 1])
                    else:
                        with connection.cursor() as cursor:
                            cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 1")
                        time.sleep(CROWD_HOLD)
                except OperationalError as exc:
                    errors.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(index % 2 == 0,)) for index in range(CROWD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        final = cursor.fetchone()[0]
    print(json.dumps({"errors": errors, "value": final}))


def run_crowd(database: Path, *, queued: bool) -> dict:
    code = f"from tests.test_sqlite import crowd; crowd(queued={queued})"
    return json.loads(in_project(["-c", code], database, SQLITE_BUSY_TIMEOUT_SECONDS="1").strip().splitlines()[-1])


def test_many_threads_writing_at_once_all_succeed_in_turn(tmp_path):
    """Issue 16: at 50 users `make run` lost writes to "database is locked" although every
    transaction was IMMEDIATE; the process's writers now queue for the lock (hdh_access/sqlite).
    With Django's own backend (``run_crowd(..., queued=False)``) the same crowd loses 4 or 5 of its
    96 writes here, the oldest waiters starved while polling; not asserted, being a matter of timing."""
    result = run_crowd(tmp_path / "db.sqlite3", queued=True)
    assert result == {"errors": [], "value": CROWD * ROUNDS}


def fold_search() -> None:
    """In a project process on SQLite: titles with accents found whatever the accents and case typed."""
    django.setup()
    from django.core.management import call_command

    from access_requests.models import AccessRequest
    from hdh_access.lib.search import folded, folded_text

    call_command("migrate", verbosity=0)
    for number, title in enumerate(("Diabète de type 2", "Étude des AVC", "Cancer du rein"), start=1):
        AccessRequest.objects.create(reference=f"HDH-2026-{number:04d}", title=title)
    found = {}
    for typed in ("diabète", "DIABÈTE", "diabete", "Diab", "étude", "ETUDE", "é", "rein"):
        term = folded_text(typed)
        titles = AccessRequest.objects.annotate(t=folded("title")).filter(t__contains=term).values_list("title", flat=True)
        found[typed] = sorted(titles)
    print(json.dumps(found))


def test_on_sqlite_a_search_ignores_accents_and_case_even_outside_ascii(tmp_path):
    code = "from tests.test_sqlite import fold_search; fold_search()"
    found = json.loads(in_project(["-c", code], tmp_path / "search.sqlite3").strip().splitlines()[-1])
    for typed in ("diabète", "DIABÈTE", "diabete", "Diab"):
        assert found[typed] == ["Diabète de type 2"], typed
    for typed in ("étude", "ETUDE"):
        assert found[typed] == ["Étude des AVC"], typed
    assert found["é"] == ["Cancer du rein", "Diabète de type 2", "Étude des AVC"]  # "é" is "e", as everywhere
    assert found["rein"] == ["Cancer du rein"]
