"""Helpers of the race tests on PostgreSQL: a post from its own thread (its own connection), and
whether another session waits on the one-time form token's unique insert."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection
from django.db.models.signals import post_save


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


def second_waits_on_the_first(start_first: Callable[[], threading.Thread],
                              start_second: Callable[[], threading.Thread], *, model, max_hold: float = 10.0) -> bool:
    """Start the first post (from ``post_in_thread``), which creates a ``model`` row and then holds
    its transaction open; start the second meanwhile; release the first once the second waits on
    the form token's claim (or after ``max_hold`` seconds). Returns whether the second was seen
    waiting. The hold ends on what it waits for, not on a fixed time: a busy machine only slows it."""
    created_row, release = threading.Event(), threading.Event()

    def hold(sender, instance, created, **kwargs):
        if created and threading.current_thread().name == "post-first":
            created_row.set()
            release.wait(max_hold)

    post_save.connect(hold, sender=model, weak=False)
    threads: list[threading.Thread] = []
    saw_wait = False
    try:
        threads.append(start_first())
        assert created_row.wait(10), "the first post created nothing"
        threads.append(start_second())
        deadline = time.monotonic() + max_hold
        while time.monotonic() < deadline and not saw_wait:
            saw_wait = waiting_on_the_form_claim()
            time.sleep(0.02)
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
        post_save.disconnect(hold, sender=model)
    assert not any(thread.is_alive() for thread in threads)
    return saw_wait
