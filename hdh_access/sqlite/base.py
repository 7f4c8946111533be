"""Django's SQLite backend, with the writers of one process taking turns in order.

SQLite has one write lock per database. The settings begin every writing transaction
``IMMEDIATE`` (it takes the lock at ``BEGIN``) and give a busy timeout, so a writer that finds
the lock taken waits instead of failing at once. But SQLite's wait is a poll: the waiting
connection sleeps and retries, the sleeps growing to 100 ms. While many threads of one server
write (``make run``: a thread per request, the tasks run in-process after each commit), a writer
that has been waiting for a while sleeps 100 ms between tries while newcomers, still polling every
few milliseconds, take the lock each time it is freed: the oldest waiters starve until their
busy timeout ends in "database is locked" (14 of 305 writes at 50 users, issue 16), although the
lock is free most of the time.

Here the writing transactions of one process queue on a lock of the process: a thread takes it
before ``BEGIN IMMEDIATE`` (and before a write statement outside a transaction) and gives it back
at ``COMMIT`` or ``ROLLBACK``, so the writers of a process take SQLite's lock one after the other,
in their order of arrival, with no poll and no idle gap. The busy timeout still bounds the wait
(in this queue, then on SQLite's lock, which another process, a worker or a command, may hold).
Readers are not queued: in WAL mode they never wait for a writer.
"""

from __future__ import annotations

import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base

# One queue for every SQLite connection of the process (one per thread and database alias).
_writers = threading.Lock()
_WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _wait_for_turn(timeout: float) -> None:
    if not _writers.acquire(timeout=timeout if timeout > 0 else -1):
        raise OperationalError("database is locked")


class QueuedWritesCursor(base.SQLiteCursorWrapper):
    """A write statement outside a transaction (a bare ``UPDATE``, a single-table ``save()``)
    takes its turn like a transaction."""

    connection_timeout = 5.0  # the busy timeout, set by DatabaseWrapper.create_cursor

    def execute(self, query, params=None):
        if self.connection.in_transaction or not query.lstrip().upper().startswith(_WRITE_STATEMENTS):
            return super().execute(query, params)
        _wait_for_turn(self.connection_timeout)
        try:
            return super().execute(query, params)
        finally:
            _writers.release()

    def executemany(self, query, param_list):
        if self.connection.in_transaction or not query.lstrip().upper().startswith(_WRITE_STATEMENTS):
            return super().executemany(query, param_list)
        _wait_for_turn(self.connection_timeout)
        try:
            return super().executemany(query, param_list)
        finally:
            _writers.release()


class DatabaseWrapper(base.DatabaseWrapper):
    """SQLite with the writing transactions of the process queued (the module's docstring)."""

    # django-stubs describe neither transaction_mode nor the private hooks overridden below
    # (_start_transaction_under_autocommit, _commit, _rollback, _close): hence the type: ignore.
    transaction_mode: str | None
    _has_turn = False

    @property
    def _timeout(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=QueuedWritesCursor)
        cursor.connection_timeout = self._timeout
        return cursor

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode not in ("IMMEDIATE", "EXCLUSIVE"):  # a deferred BEGIN writes nothing yet
            return super()._start_transaction_under_autocommit()  # type: ignore[misc]
        _wait_for_turn(self._timeout)
        self._has_turn = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._end_turn()
            raise

    def _end_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            _writers.release()

    def _commit(self):
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._end_turn()

    def _rollback(self):
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._end_turn()

    def _close(self):
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._end_turn()
