"""Helpers of the race tests on PostgreSQL: a post from its own thread (its own connection), and
whether another session waits on the one-time form token's unique insert."""

from __future__ import annotations

import threading

from django.db import connection


def post_in_thread(client, url, data, results: dict, key: str, *, barrier=None, **extra) -> threading.Thread:
    """Post ``data`` to ``url`` from a new thread; its response (or exception) lands in ``results[key]``."""

    def run():
        try:
            if barrier is not None:
                barrier.wait(10)
            results[key] = client.post(url, data, **extra)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=f"post-{key}")
    thread.start()
    return thread


def waiting_on_the_form_claim() -> bool:
    """Whether exactly one other session waits on a lock while inserting a FormSubmission row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s", ['INSERT INTO "access_requests_formsubmission"%'])
        return cursor.fetchone()[0] == 1
