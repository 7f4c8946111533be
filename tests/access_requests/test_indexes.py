"""The indexes of the event logs and the holder tasks (migration 0018, issue 16).

Each index is written at every insert (every transition writes an event; the history import a
million), so a foreign key has no index of its own where another index already leads with its
column; the actors' indexes hold only the events that have one. What must still hold: every
foreign key column of these tables leads an index (the PROTECT checks and the joins stay
indexed), and on SQLite the migration keeps the append-only triggers (Django's AlterField would
have rebuilt the tables without them).
"""

from __future__ import annotations

import sqlite3

import pytest
from django.db import connection

from access_requests.models import Event, HolderTask, HolderTaskEvent
from tests.test_sqlite import in_project

pytestmark = pytest.mark.postgres


def _leading_columns(table: str) -> dict[str, list[str]]:
    """The first column of each index of ``table``, with the index's predicate ('' for none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.attname, COALESCE(pg_get_expr(i.indpred, i.indrelid), '')
               FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
               WHERE i.indrelid = %s::regclass""", [table])
        leading: dict[str, list[str]] = {}
        for column, predicate in cursor.fetchall():
            leading.setdefault(column, []).append(predicate)
        return leading


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Event, HolderTaskEvent, HolderTask])
def test_every_foreign_key_leads_an_index(model):
    leading = _leading_columns(model._meta.db_table)
    foreign_keys = [field.column for field in model._meta.concrete_fields if field.is_relation]
    assert foreign_keys
    for column in foreign_keys:
        # An index over every row, or over those where the key is set: any lookup by the key uses it.
        usable = {"", f"({column} IS NOT NULL)"}
        assert usable & set(leading.get(column, [])), f"{model.__name__}.{column} leads no usable index"


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Event, HolderTaskEvent])
def test_an_event_log_has_one_index_per_lookup_and_the_actors_only_where_set(model):
    table = model._meta.db_table
    leading = _leading_columns(table)
    assert leading["actor_id"] == ["(actor_id IS NOT NULL)"]
    owner = "request_id" if model is Event else "task_id"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", [table])
        count = cursor.fetchone()[0]
    # the primary key, the owner's history (owner, at, id), the actor's; Event also the public dates'
    assert count == (4 if model is Event else 3)
    assert len(leading[owner]) == (2 if model is Event else 1)


@pytest.mark.django_db
def test_the_actor_lookup_of_a_user_deletion_uses_the_partial_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for table, index in (("access_requests_event", "event_actor_idx"),
                             ("access_requests_holdertaskevent", "holder_task_event_actor_idx")):
            cursor.execute(f"EXPLAIN SELECT 1 FROM {table} WHERE actor_id IN (1, 2)")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert index in plan, plan


def test_on_sqlite_the_migrations_keep_the_event_logs_append_only(tmp_path):
    database = tmp_path / "db.sqlite3"
    in_project(["manage.py", "migrate", "--verbosity", "0"], database)
    with sqlite3.connect(database) as db:
        objects = {(kind, name) for kind, name in db.execute(
            "SELECT type, name FROM sqlite_master WHERE tbl_name IN "
            "('access_requests_event', 'access_requests_holdertaskevent')")}
    for table in ("access_requests_event", "access_requests_holdertaskevent"):
        assert ("trigger", f"{table}_no_update") in objects
        assert ("trigger", f"{table}_no_delete") in objects
    assert ("index", "event_actor_idx") in objects
    assert ("index", "holder_task_event_actor_idx") in objects
    assert ("index", "access_requests_event_request_id_4da919d8") not in objects
    # and back: the earlier indexes return, the triggers stay
    in_project(["manage.py", "migrate", "access_requests", "0017", "--verbosity", "0"], database)
    with sqlite3.connect(database) as db:
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert "access_requests_event_request_id_4da919d8" in names
    assert "access_requests_event_no_update" in names
    assert "event_actor_idx" not in names
