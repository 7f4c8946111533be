"""Nothing lost, nothing twice: a real Redis, a real Celery worker and beat, a real SMTP server.

The module starts its own redis-server on a free port (never the shared one), an aiosmtpd
server in this process, a worker (``--pool=solo``) and a beat that runs only the outbox
sweep, every second; the worker and beat share the test database. Faults:

- the SMTP server refuses, then accepts: the message is retried with backoff and sent once;
- it keeps refusing: the message is marked failed;
- Redis is stopped while a transition commits, then started again: the transition succeeds
  and its emails go out once Redis is back (the sweep finds them);
- the worker is SIGKILLed while it sends the weekly report: after a restart each
  subscriber gets the report once, and a second run of the beat job sends nothing more.
"""

from __future__ import annotations

import logging
import os
import socket
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.workflow import State
from catalog.models import Dataset
from hdh_access.celery import app
from notifications import outbox, tasks
from notifications.models import OutboxMessage, OutboxStatus
from tests.processes import other_sessions

from .processes import CeleryProcess, RedisServer, database_url, wait_for
from .smtp import free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30.0
# The worker's outbox settings: fast backoff and a short claim, so faults resolve in seconds.
WORKER_SETTINGS = {
    "HDH_OUTBOX_BACKOFF_SECONDS": "1", "HDH_OUTBOX_BACKOFF_MAX_SECONDS": "2", "HDH_OUTBOX_MAX_ATTEMPTS": "4",
    "HDH_OUTBOX_CLAIM_SECONDS": "3", "HDH_OUTBOX_SWEEP_SECONDS": "1", "EMAIL_TIMEOUT": "20",
}


class Cluster:
    """The private Redis, the worker and the beat, restartable by the tests."""

    def __init__(self, folder, smtp_port: int) -> None:
        self.redis = RedisServer(free_port(), folder)
        self.folder = folder
        env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": self.redis.url,
               "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1",
               "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
               "EMAIL_PORT": str(smtp_port), **WORKER_SETTINGS}
        env.pop("EMAIL_HOST_USER", None)
        env.pop("EMAIL_HOST_PASSWORD", None)
        self.env = env
        self.starts = 0
        self.worker: CeleryProcess | None = None
        self.beat = CeleryProcess("beat", env=env, log=folder / "beat.log", cwd=django_settings.BASE_DIR,
                                  args=["--scheduler", "tests.notifications.beat:SweepOnlyScheduler",
                                        "--max-interval", "1", "-l", "info"])

    def start_worker(self) -> None:
        self.starts += 1
        name = f"notif-tests-{os.getpid()}-{self.starts}@{socket.gethostname()}"
        self.worker = CeleryProcess(
            "worker", env=self.env, log=self.folder / "worker.log", cwd=django_settings.BASE_DIR,
            # No -Q: every queue of CELERY_TASK_QUEUES (the outbox's is "emails", the report's "reports").
            args=["--pool=solo", "--concurrency=1", "-l", "info", "-n", name,
                  "--without-gossip", "--without-mingle", "--without-heartbeat"],
        ).start(" ready.")

    def start(self) -> Cluster:
        self.redis.start()
        self.start_worker()
        self.beat.start("beat: Starting...")
        return self

    def stop(self) -> None:
        for process in (self.beat, self.worker):
            if process is not None:
                process.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, tmp_path_factory, smtp_server):
    if connection.vendor != "postgresql":
        pytest.fail("the worker tests need PostgreSQL so that the worker shares the test database: "
                    f"set DATABASE_URL=postgres://... (got {connection.vendor})")
    running = Cluster(tmp_path_factory.mktemp("notif-cluster"), smtp_server.port)
    with django_db_blocker.unblock():
        before = other_sessions()
    try:
        running.start()
        yield running
    finally:
        running.stop()
        with django_db_blocker.unblock():  # let their sessions end before the test database is dropped
            wait_for(lambda: not other_sessions() - before, timeout=15, what="the worker's database sessions to end")



def _reset_producer_pool() -> None:
    app._pool, app.amqp._producer_pool = None, None


@pytest.fixture(autouse=True)
def on_the_private_broker(cluster, smtp_server):
    """Tasks go to the private Redis for real; a worker is running; the SMTP server is reset."""
    if not cluster.redis.running():  # a failed test may have left them stopped
        cluster.redis.start()
    if not cluster.worker.alive():
        cluster.start_worker()
    smtp_server.handler.reset()
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = cluster.redis.url
    _reset_producer_pool()
    yield
    app.conf.task_always_eager, app.conf.broker_url = previous
    _reset_producer_pool()
    smtp_server.handler.release()


@pytest.fixture
def smtp(smtp_server):
    return smtp_server.handler


def submitted_request(personas) -> AccessRequest:
    request = services.create_draft(actor=personas["applicant"], title="Parcours de soins après un AVC",
                                    datasets=list(Dataset.objects.filter(code__in=("snds", "oscour"))))
    return services.submit(request_id=request.pk, actor=personas["applicant"])


def settle(smtp, seconds: float = 2.5) -> None:
    """Let the sweep run a few more times: anything sent twice would show up now."""
    time.sleep(seconds)


def test_a_committed_transition_is_emailed_by_the_worker(personas, cluster, smtp):
    submitted_request(personas)

    smtp.wait_for(2, timeout=TIMEOUT)
    settle(smtp)

    assert sorted(m["To"] for m in smtp.accepted) == ["porteur@inserm.example", "secretariat@hdh.example"]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}


def test_smtp_refusing_then_accepting_delivers_the_email_once(personas, cluster, smtp):
    smtp.refuse_next(2, "451 4.3.0 Temporary failure, try again later")
    request = services.create_draft(actor=personas["applicant"], title="Cohorte AVC",
                                    datasets=list(Dataset.objects.filter(code__in=("snds", "oscour"))))
    OutboxMessage.objects.all().delete()

    services.submit(request_id=request.pk, actor=personas["applicant"])

    smtp.wait_for(2, timeout=TIMEOUT)
    settle(smtp)
    assert smtp.refused == 2
    assert sorted(m["To"] for m in smtp.accepted) == ["porteur@inserm.example", "secretariat@hdh.example"]
    rows = list(OutboxMessage.objects.order_by("created_at", "id"))
    assert [row.status for row in rows] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert sorted(row.attempts for row in rows) in ([1, 3], [2, 2])  # two refusals shared between them
    assert any("451" in row.last_error for row in rows)


def test_a_message_the_server_keeps_refusing_is_marked_failed_not_dropped(personas, cluster, smtp):
    smtp.refuse_next(100, "550 5.1.1 Mailbox unavailable")

    submitted_request(personas)

    wait_for(lambda: OutboxMessage.objects.filter(status=OutboxStatus.FAILED).count() == 2, timeout=TIMEOUT,
             what="both messages to be marked failed after 4 attempts", log=cluster.worker.log)
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {4}
    assert all("550" in error for error in OutboxMessage.objects.values_list("last_error", flat=True))
    assert smtp.accepted == [] and smtp.refused == 8

    smtp.reset()
    outbox.retry_messages(message_ids=OutboxMessage.objects.values_list("pk", flat=True), actor="test")
    smtp.wait_for(2, timeout=TIMEOUT)
    # The server has both messages; the worker marks each sent right after its server said yes.
    wait_for(lambda: set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT},
             timeout=TIMEOUT, what="both messages to be marked sent", log=cluster.worker.log)
    assert smtp.accepted and len(smtp.accepted) == 2


def test_redis_stopped_during_a_transition_then_started_again_the_email_arrives_once(personas, cluster, smtp,
                                                                                     caplog):
    request = services.create_draft(actor=personas["applicant"], title="Cohorte AVC",
                                    datasets=list(Dataset.objects.filter(code__in=("snds", "oscour"))))

    with cluster.beat.paused():
        # No sweep may be on its way when the transition commits: one the beat published just
        # before Redis went down would find the new rows and send them, a success this test
        # cannot tell from a leak. The beat stays still and the worker finishes what it holds.
        wait_for(cluster.worker.idle, timeout=TIMEOUT, what="the worker to finish its tasks", log=cluster.worker.log)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="hdh_access.lib.broker"), transaction.atomic():
            services.submit(request_id=request.pk, actor=personas["applicant"])
            cluster.redis.stop()  # the broker goes down before the transition commits
        took = time.monotonic() - started

    assert AccessRequest.objects.get(pk=request.pk).state == State.SUBMITTED
    assert took < 5, f"the transition waited {took:.1f} s for the broker"
    assert "broker unavailable, notifications.tasks.send_pending_outbox" in caplog.text
    rows = OutboxMessage.objects.filter(key__startswith="event:")
    assert rows.count() == 2 and set(rows.values_list("status", flat=True)) == {OutboxStatus.PENDING}
    time.sleep(1.5)  # the beat runs again, but can publish nothing
    assert smtp.accepted == []  # nothing can be sent while Redis is down

    cluster.redis.start()  # same port, empty: the tasks published before are gone

    smtp.wait_for(2, timeout=TIMEOUT)
    settle(smtp)
    assert sorted(m["To"] for m in smtp.accepted) == ["porteur@inserm.example", "secretariat@hdh.example"]
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}


@pytest.fixture
def subscribers(personas):
    for name in ("management", "cesrees"):
        profile = personas[name].profile
        profile.weekly_report = True
        profile.save()
    return personas


def test_a_worker_killed_while_sending_the_weekly_report_sends_no_duplicate(subscribers, cluster, smtp):
    smtp.hold_next()  # the server keeps the first message unanswered

    tasks.send_weekly_report.delay()

    assert smtp.held.wait(TIMEOUT), "the worker never started sending the report"
    in_flight = OutboxMessage.objects.get(claimed_until__isnull=False)
    assert in_flight.key.startswith("weekly-report:") and in_flight.attempts == 1
    cluster.worker.kill()  # SIGKILL, by its pid, in the middle of the SMTP conversation
    smtp.release()  # the server never said 250 to it: the message was not accepted
    reports = OutboxMessage.objects.filter(key__startswith="weekly-report:")
    assert reports.count() == 2 and not reports.filter(status=OutboxStatus.SENT).exists()

    cluster.start_worker()

    smtp.wait_for(2, timeout=TIMEOUT)
    tasks.send_weekly_report.delay()  # the beat job firing again, the same week
    settle(smtp, 3.5)
    assert sorted(m["To"] for m in smtp.accepted) == ["cesrees@hdh.example", "direction@hdh.example"]
    assert reports.count() == 2 and set(reports.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert OutboxMessage.objects.get(pk=in_flight.pk).attempts == 2  # taken over once its claim expired
    for message in smtp.accepted:
        assert message.get_content_type() == "multipart/mixed"
        assert any(p["Content-ID"] == "<delay-chart>" for p in message.walk())
