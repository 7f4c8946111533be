"""The application behind a real PgBouncer in transaction mode (DATABASE_PGBOUNCER=true).

The module starts its own pgbouncer (Debian package, `make pgbouncer`) on a free port with its own
configuration in a temporary folder: pool_mode = transaction, every database forwarded to the test
PostgreSQL at 127.0.0.1:5432. The tests point this process's connection at it, with the settings
that DATABASE_PGBOUNCER gives, and walk a request through the services and the back office's pages
(the queue and the CSV export read with ``.iterator()``). pgbouncer is stopped by its pid when the
module ends, and its server connections are gone before the test database is dropped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from django.urls import reverse

from access_requests.models import Event
from access_requests.workflow import State
from tests.processes import free_port, log_tail, other_sessions, server_environment, stop, wait_until

PGBOUNCER = Path("/usr/sbin/pgbouncer")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.postgres]


def _pgbouncer_accepts(port: int) -> bool:
    try:
        psycopg2.connect(host="127.0.0.1", port=port, dbname="pgbouncer", user="postgres", connect_timeout=2).close()
        return True
    except psycopg2.Error:
        return False


@pytest.fixture(scope="module")
def pgbouncer(django_db_setup, django_db_blocker):
    """A pgbouncer in transaction mode in front of the test database's server: its port."""
    if not PGBOUNCER.exists():
        pytest.fail("pgbouncer is not installed: `make pgbouncer` (Debian package pgbouncer)")
    with django_db_blocker.unblock():
        server = connection.settings_dict
        user = server.get("USER") or "postgres"
        before = other_sessions()
    # pgbouncer refuses to run as root: as root it is started as the postgres user (-u), which must
    # read its configuration, hence a folder of its own rather than pytest's private tmp_path.
    folder = Path(tempfile.mkdtemp(prefix="hdh-pgbouncer-"))
    folder.chmod(0o755)
    port = free_port()
    (folder / "users.txt").write_text(f'"{user}" "{server.get("PASSWORD") or ""}"\n')
    (folder / "pgbouncer.ini").write_text(f"""\
[databases]
* = host={server.get("HOST") or "127.0.0.1"} port={server.get("PORT") or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
admin_users = {user}
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
""")
    for path in folder.iterdir():
        path.chmod(0o644)
    log = folder / "pgbouncer.log"
    command = [str(PGBOUNCER), *(["-u", "postgres"] if os.geteuid() == 0 else []), str(folder / "pgbouncer.ini")]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _pgbouncer_accepts(port), timeout=20, what="pgbouncer to accept connections",
                   process=process, log=log)
        yield port
    finally:
        stop(process)  # SIGTERM: immediate shutdown, its server connections closed
        with django_db_blocker.unblock():
            wait_until(lambda: not other_sessions() - before, timeout=20,
                       what="pgbouncer's server connections to end")
        if process.returncode not in (0, -15):
            print(log_tail(log))
        shutil.rmtree(folder, ignore_errors=True)



def _pgbouncer_settings() -> dict:
    """What the settings make of DATABASE_PGBOUNCER=true for a PostgreSQL URL (in a fresh process)."""
    code = ("from django.conf import settings as s; d = s.DATABASES['default']; "
            "print(d['DISABLE_SERVER_SIDE_CURSORS'], d['CONN_HEALTH_CHECKS'])")
    env = server_environment(DEBUG="true", DATABASE_PGBOUNCER="true",
                             DATABASE_URL="postgres://postgres@127.0.0.1:6432/hdh_access")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    cursors, health = result.stdout.splitlines()[-1].split()
    return {"DISABLE_SERVER_SIDE_CURSORS": cursors == "True", "CONN_HEALTH_CHECKS": health == "True"}


@pytest.fixture
def through_pgbouncer(pgbouncer, transactional_db):
    """This process's database connection goes through pgbouncer, set up as DATABASE_PGBOUNCER sets it."""
    options = _pgbouncer_settings()
    assert options["DISABLE_SERVER_SIDE_CURSORS"] is True
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=pgbouncer, **options)
    try:
        yield pgbouncer
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _transactions_through(port: int) -> int:
    """How many transactions pgbouncer has passed to the server for the test database."""
    admin = psycopg2.connect(host="127.0.0.1", port=port, dbname="pgbouncer", user="postgres")
    admin.autocommit = True  # the admin console has no transactions
    try:
        with admin.cursor() as cursor:
            cursor.execute("SHOW STATS")
            columns = [column.name for column in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        admin.close()
    return sum(row["total_xact_count"] for row in rows if row["database"] == connection.settings_dict["NAME"])


def test_a_request_is_drafted_submitted_and_reviewed_and_the_queue_and_export_read_through_pgbouncer(
        through_pgbouncer, make_request, personas, client):
    request = make_request(State.CESREES_REVIEW)  # created, submitted, completeness accepted: services
    assert connection.connection.info.port == through_pgbouncer  # it did go through pgbouncer
    assert list(Event.objects.filter(request=request).values_list("to_state", flat=True))[-1] == State.CESREES_REVIEW

    client.force_login(personas["cesrees"])  # the request waits on the CESREES: in its queue
    queue = client.get(reverse("backoffice:queue"))
    assert queue.status_code == 200 and request.reference in queue.content.decode()
    export = client.get(reverse("backoffice:export"))
    assert export.status_code == 200
    csv = b"".join(export.streaming_content).decode("utf-8-sig")
    assert request.reference in csv
    assert _transactions_through(through_pgbouncer) > 10


def test_pgbouncer_is_in_transaction_mode_so_the_settings_must_say_so(pgbouncer):
    admin = psycopg2.connect(host="127.0.0.1", port=pgbouncer, dbname="pgbouncer", user="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SHOW CONFIG")
            config = {row[0]: row[1] for row in cursor.fetchall()}
    finally:
        admin.close()
    assert config["pool_mode"] == "transaction"


def test_database_pgbouncer_needs_a_postgresql_url():
    env = server_environment(DEBUG="true", DATABASE_PGBOUNCER="true", DATABASE_URL="sqlite:///tmp/x.sqlite3")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and "DATABASE_PGBOUNCER" in result.stderr
