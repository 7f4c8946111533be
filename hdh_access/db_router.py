"""Reads that may go to a read replica (``DATABASE_REPLICA_URL``), and everything else to the primary.

With a replica configured (settings add the ``replica`` alias), the pages and jobs that only
read large tables (the delay dashboard and its downloads, the queue and its exports, the delay
report) run inside ``replica_reads()`` (a decorator or a ``with`` block, at the view or command,
never inside a selector). Within it, the ORM's reads go to the replica, except:

- once the current unit of work (a web request, a Celery task, a command) has written: every
  later read goes to the primary, so a request reads its own writes whatever the replica's lag.
  A write is anything the router routes for writing (``save``, ``create``, ``update``, ``delete``,
  ``select_for_update``, ``get_or_create``...); code that writes with a raw cursor calls
  ``pin_to_primary()``;
- for ``DATABASE_REPLICA_PIN_SECONDS`` after a web request that wrote, the same signed-in session's
  requests read from the primary too (``UnitOfWorkMiddleware`` keeps the instant in the session):
  the page a form redirects to shows what the form just saved (a saved filter in the queue);
- inside a transaction on the primary (``transaction.atomic``): reads see that transaction.

Everywhere else (the request's page, every service, every task that does not ask) reads and
writes go to the primary, as without a replica. Raw SQL that reads rows a queryset selects runs on
that queryset's database (``connections[queryset.db]``: delays.statistics, delays.holders).

A replica lags behind the primary (usually well under a second; more under a burst of writes or
while it replays a long transaction): what reads it may be slightly stale, which is why only
figures and lists go there (docs/architecture.md, "Read replica").
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import FileResponse

REPLICA = "replica"

# Set by replica_reads(): the code running may read from the replica.
_replica_wanted: ContextVar[bool] = ContextVar("hdh_replica_wanted", default=False)
# Set by the first write of the unit of work (request, task, command): read from the primary from then on.
_has_written: ContextVar[bool] = ContextVar("hdh_has_written", default=False)
# Set by UnitOfWorkMiddleware when the session wrote less than DATABASE_REPLICA_PIN_SECONDS ago.
_wrote_recently: ContextVar[bool] = ContextVar("hdh_wrote_recently", default=False)
# The session's key holding until when its requests read from the primary (a Unix time).
SESSION_KEY = "_hdh_primary_until"


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def pin_to_primary() -> None:
    """The current unit of work has written: its later reads go to the primary."""
    _has_written.set(True)


@contextmanager
def _replica_reads(*, written: bool | None = None) -> Iterator[None]:
    wanted = _replica_wanted.set(True)
    pinned = _has_written.set(written) if written is not None else None
    try:
        yield
    finally:
        if pinned is not None:
            _has_written.reset(pinned)
        _replica_wanted.reset(wanted)


def _streamed(chunks: Iterable[Any], written: bool) -> Iterator[Any]:
    """A streaming response's chunks, each produced as inside the view that made the response (the
    server reads them after the view and the middlewares have returned)."""
    iterator = iter(chunks)
    while True:
        with _replica_reads(written=written):
            chunk = next(iterator, _END)
        if chunk is _END:
            return
        yield chunk


_END = object()


def replica_reads(view: Any = None) -> Any:
    """``with replica_reads():`` or ``@replica_reads`` on a view (or any function): its reads may go
    to the replica (see the module's docstring for the exceptions). A streaming response's rows
    (the CSV downloads) are read under the same rule while the server sends them."""
    if view is None:
        return _replica_reads()

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _replica_reads():
            response = view(*args, **kwargs)
        if getattr(response, "streaming", False) and not isinstance(response, FileResponse):  # a file: no reads
            pinned = _has_written.get() or _wrote_recently.get()
            response.streaming_content = _streamed(response.streaming_content, pinned)
        return response

    return wrapper


def start_unit_of_work() -> None:
    """A Celery task that is not run inside another unit of work (eagerly) starts without writes."""
    _has_written.set(False)


@contextmanager
def unit_of_work(*, wrote_recently: bool = False) -> Iterator[None]:
    """One web request or task: it starts without writes, whatever the thread did before."""
    written = _has_written.set(False)
    recently = _wrote_recently.set(wrote_recently)
    try:
        yield
    finally:
        _wrote_recently.reset(recently)
        _has_written.reset(written)


def read_alias() -> str:
    """Where a read goes now: the replica inside replica_reads() before any write, else the primary."""
    if (_replica_wanted.get() and not _has_written.get() and not _wrote_recently.get() and replica_configured()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block):
        return REPLICA
    return DEFAULT_DB_ALIAS


class ReplicaRouter:
    """DATABASE_ROUTERS: writes to the primary (and remember it), reads where ``read_alias`` says."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        # Always an alias, never None: Django would otherwise read a related object from the
        # database its instance came from (the replica) even after a write.
        return read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        pin_to_primary()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The replica holds the primary's rows: an object read from either may be linked to the other's.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None}

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        # The replica replays the primary's schema changes; nothing is ever migrated on it.
        return db != REPLICA


class UnitOfWorkMiddleware:
    """Each web request starts without writes (threads serve many requests one after another); one
    that wrote sends its signed-in session's reads to the primary for DATABASE_REPLICA_PIN_SECONDS.

    Placed after SessionMiddleware, which saves what this puts in the session, and before
    AuthenticationMiddleware (request.user is only read once the view has run)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        session = getattr(request, "session", None)
        if session is None or not replica_configured():
            with unit_of_work():
                return self.get_response(request)
        until = session.get(SESSION_KEY)
        with unit_of_work(wrote_recently=isinstance(until, int | float) and until > time.time()):
            response = self.get_response(request)
            # Signed-in sessions only: a sign-out's new empty session, or a visitor's, gets no row for it.
            user = getattr(request, "user", None)
            if _has_written.get() and user is not None and user.is_authenticated:
                session[SESSION_KEY] = time.time() + settings.DATABASE_REPLICA_PIN_SECONDS
        return response
