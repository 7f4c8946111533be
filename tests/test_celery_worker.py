"""A real Celery worker on a real Redis broker materialises the delay rows.

The worker runs as a subprocess (``celery -A hdh_access worker --pool=solo``) on the test
PostgreSQL database and the test Redis database (``REDIS_URL``, redis://127.0.0.1:6379/14
under ``make test``); it is started once for the module and stopped by its pid. Tasks are not
eager here: the ``worker`` mark turns off the suite's autouse eager fixture.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from access_requests import services
from access_requests.workflow import State
from catalog.models import Dataset
from delays import tasks as delay_tasks
from delays.materialise import materialise_request
from delays.models import DelayBaseline, RequestDelay
from hdh_access.celery import app
from tests.conftest import advance_other_holders

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CELERY = Path(sys.executable).with_name("celery")
APPLICATION_NAME = f"delay-tests-worker-{os.getpid()}"  # names the worker's database sessions
READY_TIMEOUT = 40.0
TASK_TIMEOUT = 20.0


def _database_url() -> str:
    """A URL for the test database this process uses (the worker must share it)."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{credentials}{host}{port}/{db['NAME']}?application_name={APPLICATION_NAME}"


def _wait_for(predicate, *, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n--- worker log ---\n{tail}")


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start one real worker for the module on the test database and the test Redis."""
    redis_url = django_settings.REDIS_URL
    if not redis_url:
        pytest.fail("REDIS_URL is empty: the worker tests need a real Redis broker "
                    "(make test sets REDIS_URL=redis://127.0.0.1:6379/14)")
    if connection.vendor != "postgresql":
        pytest.fail(f"the worker tests need PostgreSQL so that the worker shares the test database, "
                    f"not {connection.vendor}: set DATABASE_URL=postgres://...")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    name = f"delay-tests-{os.getpid()}@{socket.gethostname()}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": redis_url,
           "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            # No -Q: the worker consumes every queue of CELERY_TASK_QUEUES, as `make serve`'s does.
            [str(CELERY), "-A", "hdh_access", "worker", "--pool=solo", "--concurrency=1", "-l", "info",
             "-n", name, "--without-gossip", "--without-mingle"],
            cwd=django_settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: process.poll() is not None or " ready." in log.read_text(errors="replace"),
                  timeout=READY_TIMEOUT, what="the Celery worker to be ready", log=log)
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        yield Worker(name=name, log=log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        with django_db_blocker.unblock():  # let its session end before the test database is dropped
            _wait_for(lambda: not _worker_sessions(), timeout=10, what="the worker's database session to end")


def _worker_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APPLICATION_NAME])
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class Worker:
    name: str
    log: Path

    def processed(self, task_name: str) -> int:
        """How many ``task_name`` tasks the worker has run (its remote-control statistics)."""
        stats = app.control.inspect(destination=[self.name], timeout=5).stats() or {}
        return stats.get(self.name, {}).get("total", {}).get(task_name, 0)


@pytest.fixture(autouse=True)
def not_eager(worker):
    """Send tasks to the broker for real, whatever the settings said when they were loaded."""
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = django_settings.REDIS_URL
    assert app.connection_for_write().as_uri().startswith("redis://")
    yield
    app.conf.task_always_eager, app.conf.broker_url = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _new_request(personas, *, until: str):
    """A target request walked through the services (each step commits and enqueues)."""
    request = services.create_draft(actor=personas["applicant"], title="Parcours de soins après un AVC",
                                    datasets=list(Dataset.objects.filter(code__in=("snds", "oscour"))))
    steps = [
        (State.SUBMITTED, services.submit, "applicant", {}),
        (State.CESREES_REVIEW, services.forward_to_cesrees, "secretariat", {}),
        (State.CNIL_REVIEW, services.record_cesrees_opinion, "cesrees", {"opinion": "favourable"}),
        (State.CONTRACTING, services.record_cnil_decision, "cnil",
         {"authorised": True, "decision_number": "DR-2026-001", "decision_date": request.created_at.date()}),
        (State.MATCHING, services.record_contract_signed, "cnam", {}),
        (State.EXTRACTION, services.record_matching_done, "cnam", {}),
        (State.DELIVERED, services.deliver, "cnam", {}),
    ]
    for reached, service, who, kwargs in steps:
        request = service(request_id=request.pk, actor=personas[who], **kwargs)
        if reached == State.CONTRACTING:
            advance_other_holders(request)  # Santé publique France delivers: the CNAM's moves the request
        if reached == until:
            return request
    raise AssertionError(f"{until} is not on the path")


def _row_in_state(pk: int, state: str):
    return RequestDelay.objects.filter(pk=pk, state=state).first()


RECOMPUTE = "delays.tasks.recompute_request_delay"
NIGHTLY = "delays.tasks.refresh_open_delays"


def test_a_committed_transition_is_materialised_by_the_worker(personas, worker):
    ran_before = worker.processed(RECOMPUTE)

    request = _new_request(personas, until=State.CESREES_REVIEW)

    delay = _wait_for(lambda: _row_in_state(request.pk, State.CESREES_REVIEW), timeout=TASK_TIMEOUT,
                      what="the worker to write the delay row", log=worker.log)
    assert delay.current_stage == State.CESREES_REVIEW
    assert delay.status == "on_track"
    assert [visit["stage"] for visit in delay.visits] == ["submitted", "cesrees_review"]
    assert delay.current_due_date is not None
    # create, submit, forward: one task per committed change, run by the worker.
    _wait_for(lambda: worker.processed(RECOMPUTE) == ran_before + 3, timeout=TASK_TIMEOUT,
              what="three recompute tasks", log=worker.log)


def test_the_nightly_task_sent_to_the_broker_refreshes_open_rows_on_the_worker(personas, worker):
    ran_at_start = worker.processed(RECOMPUTE)
    opened = _new_request(personas, until=State.CNIL_REVIEW)
    delivered = _new_request(personas, until=State.DELIVERED)
    # 4 + 8 tasks, and 3 for the other holder's task moves (a task alone changes its delays): wait
    # for every one (a task reads the latest committed state, so the row can look final before the
    # last task has rewritten it).
    _wait_for(lambda: worker.processed(RECOMPUTE) == ran_at_start + 15, timeout=TASK_TIMEOUT,
              what="the walks' tasks", log=worker.log)
    assert _row_in_state(opened.pk, State.CNIL_REVIEW) and _row_in_state(delivered.pk, State.DELIVERED)
    open_before = RequestDelay.objects.get(pk=opened.pk).computed_at
    delivered_before = RequestDelay.objects.values().get(pk=delivered.pk)
    assert not DelayBaseline.objects.exists()

    delay_tasks.refresh_open_delays.delay()

    baseline = _wait_for(lambda: DelayBaseline.objects.filter(key="target").first(), timeout=TASK_TIMEOUT,
                         what="the nightly task to refresh the baseline", log=worker.log)
    assert set(baseline.medians) == {"submitted", "cesrees_review", "cnil_review", "contracting", "matching",
                                     "extraction", "delivered_requests", "routes"}
    refreshed = _wait_for(lambda: RequestDelay.objects.filter(pk=opened.pk, computed_at__gt=open_before).first(),
                          timeout=TASK_TIMEOUT, what="the open row to be refreshed", log=worker.log)
    assert refreshed.computed_at == baseline.computed_at  # the same run, the same instant
    assert RequestDelay.objects.values().get(pk=delivered.pk) == delivered_before
    assert worker.processed(NIGHTLY) >= 1


def test_a_task_delivered_twice_leaves_one_correct_row(personas, worker):
    ran_at_start = worker.processed(RECOMPUTE)
    request = _new_request(personas, until=State.DELIVERED)
    # create, seven transitions and the other holder's three task moves: wait for all eleven
    # tasks, so that none rewrites the row later.
    _wait_for(lambda: worker.processed(RECOMPUTE) == ran_at_start + 11, timeout=TASK_TIMEOUT,
              what="the walk's tasks", log=worker.log)
    assert _row_in_state(request.pk, State.DELIVERED)
    RequestDelay.objects.filter(pk=request.pk).delete()  # a cache: the task rebuilds it
    rows_before = RequestDelay.objects.count()
    ran_before = worker.processed(RECOMPUTE)

    first = delay_tasks.recompute_request_delay.apply_async(args=[request.pk])
    delay_tasks.recompute_request_delay.apply_async(args=[request.pk], task_id=first.id)  # the same message again

    _wait_for(lambda: worker.processed(RECOMPUTE) == ran_before + 2, timeout=TASK_TIMEOUT, what="both deliveries",
              log=worker.log)
    assert RequestDelay.objects.count() == rows_before + 1
    from_worker = RequestDelay.objects.values().get(pk=request.pk)
    materialise_request(request.pk)  # the same computation, in this process
    expected = RequestDelay.objects.values().get(pk=request.pk)
    assert from_worker["status"] == "met" and from_worker["state"] == State.DELIVERED
    assert {k: v for k, v in from_worker.items() if k != "computed_at"} == {
        k: v for k, v in expected.items() if k != "computed_at"}
