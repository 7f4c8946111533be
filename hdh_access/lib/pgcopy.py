"""Bulk writes through PostgreSQL ``COPY ... FROM STDIN`` (the history import, the delay rows).

``bulk_create`` builds a model instance per row and an ``INSERT`` with a parameter per value: at
a million rows the Python side alone takes a minute. ``COPY`` sends rows as text, and the server
loads them at hundreds of thousands per second. ``copy_rows(model, names, rows)`` writes plain
tuples (values in ``names`` order, the fields' attribute names: ``request_id``); every other concrete
column gets the field's default, as ``Model()`` would give it. ``allocate_ids(model, n)`` reserves
``n`` primary keys from the table's sequence in one query, so that the caller can write the rows
that point at them (the events of new requests) without reading the ids back.

PostgreSQL only (``connection.vendor == "postgresql"``); the callers keep ``bulk_create`` on
SQLite. Values are written in COPY's text format: ``None`` as ``\\N``, booleans ``t``/``f``,
instants and dates in ISO 8601 (aware instants keep their offset), dicts and lists as JSON, text
with backslash, tab, newline and carriage return escaped. Each call shows in
``connection.queries`` (and ``CaptureQueriesContext``) as one ``COPY`` statement per batch.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connections, models
from django.db.backends.utils import CursorDebugWrapper

# Rows sent per COPY statement: bounds the text held in memory (about 100 bytes a row).
COPY_BATCH = 50_000
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text_value(value: str) -> str:
    """A text value in COPY's text format (what ``copy_value`` does for ``str``)."""
    return value.translate(_ESCAPES) if ("\\" in value or "\t" in value or "\n" in value or "\r" in value) else value


def _json(value: Any) -> str:
    return copy_text_value(json.dumps(value))


# By exact type, the common case (a dict lookup is faster than a chain of isinstance).
_FORMATS: dict[type, Callable[[Any], str]] = {
    str: copy_text_value, int: str, float: repr, bool: lambda value: "t" if value else "f",
    type(None): lambda _value: "\\N", dt.datetime: dt.datetime.isoformat, dt.date: dt.date.isoformat,
    dict: _json, list: _json,
}


def copy_value(value: Any) -> str:
    """One value in COPY's text format."""
    format_ = _FORMATS.get(type(value))
    if format_ is not None:
        return format_(value)
    if isinstance(value, str):  # text choices
        return copy_text_value(str.__str__(value))
    for kind, format_ in _FORMATS.items():  # other subclasses
        if kind is not bool and isinstance(value, kind):
            return format_(value)
    raise TypeError(f"no COPY text for {type(value).__name__}")


def _columns(model: type[models.Model], names: Sequence[str]) -> tuple[list[str], list[str]]:
    """The table's columns for the given field names, then every other concrete column (not
    the automatic primary key), and the text of the defaults of the latter."""
    fields = {field.attname: field for field in model._meta.concrete_fields}
    given = [fields[name].column for name in names]
    rest_columns, rest_values = [], []
    for field in model._meta.concrete_fields:
        if field.attname in names or (field.primary_key and isinstance(field, models.AutoField)):
            continue
        default = field.get_default()
        if default is None and not field.null:
            raise ValueError(f"{model.__name__}.{field.name} has no default: give its values")
        rest_columns.append(field.column)
        rest_values.append(copy_value(default))
    return given + rest_columns, rest_values


def copy_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]], *,
              using: str = "default", batch: int = COPY_BATCH) -> int:
    """Write ``rows`` (tuples of values for the fields ``names``) into ``model``'s table; returns
    how many. One COPY per ``batch`` rows."""
    return copy_lines(model, names, ("\t".join(map(copy_value, row)) for row in rows), using=using, batch=batch)


def copy_lines(model: type[models.Model], names: Sequence[str], lines: Iterable[str], *,
               using: str = "default", batch: int = COPY_BATCH) -> int:
    """``copy_rows`` for rows the caller formatted already (its hot loops): each line holds the
    values of ``names`` in COPY's text format, tab-separated, without the newline."""
    columns, defaults = _columns(model, names)
    end = "\t" + "\t".join(defaults) + "\n" if defaults else "\n"
    sql = 'COPY "{}" ({}) FROM STDIN'.format(
        model._meta.db_table, ", ".join(f'"{column}"' for column in columns))
    written = 0
    chunk: list[str] = []
    for line in lines:
        chunk.append(line + end)
        if len(chunk) >= batch:
            written += _send(using, sql, chunk)
            chunk = []
    if chunk:
        written += _send(using, sql, chunk)
    return written


def copy_text(sql: str, lines: list[str], *, using: str = "default") -> int:
    """Run ``sql`` (a ``COPY ... FROM STDIN``) with ``lines`` already in COPY's text format."""
    return _send(using, sql, lines)


def _send(using: str, sql: str, lines: list[str]) -> int:
    buffer = io.StringIO("".join(lines))
    with connections[using].cursor() as cursor:
        if isinstance(cursor, CursorDebugWrapper):  # DEBUG or CaptureQueriesContext: log the COPY
            with cursor.debug_sql(f"{sql} -- {len(lines)} rows"):
                cursor.cursor.copy_expert(sql, buffer)
        else:
            cursor.cursor.copy_expert(sql, buffer)
    return len(lines)


def allocate_ids(model: type[models.Model], count: int, *, using: str = "default") -> list[int]:
    """Reserve ``count`` primary keys of ``model`` from its sequence (one query), in order."""
    if count <= 0:
        return []
    pk = model._meta.pk
    assert pk is not None
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, pk.column, count])
        return [row[0] for row in cursor.fetchall()]
