"""Several beat-less workers sweeping the outbox at once: every message leaves exactly once.

A private redis-server on a free port, the aiosmtpd server of this process, and two real
workers (``--pool=solo``, no beat) on the test database, as a deployment with one worker per
queue would run them: one started without -Q (it consumes every queue, like ``make serve``'s),
one with ``-Q emails``. Both sweeps are made to overlap for certain: the SMTP server keeps
the messages at a closed gate until one message of each sweep waits there (two rows claimed at
once, one by each worker), then lets them go on and the two sweeps race over the same rows.
"""

from __future__ import annotations

import os
import re
import socket

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from hdh_access.celery import app
from notifications import outbox, tasks
from notifications.models import OutboxMessage, OutboxStatus
from tests.processes import other_sessions

from .processes import CeleryProcess, RedisServer, database_url, wait_for
from .smtp import free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 40.0
MESSAGES = 30
SWEEP = "notifications.tasks.send_pending_outbox"
EVERY_QUEUE = {"celery", "emails", "delays", "reports", "webhooks"}
SENT_LINE = re.compile(r"outbox: sent (race:\d+) to ")


class Workers:
    def __init__(self, folder, smtp_port: int) -> None:
        self.redis = RedisServer(free_port(), folder)
        self.env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": self.redis.url,
                    "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1",
                    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
                    "EMAIL_PORT": str(smtp_port), "EMAIL_TIMEOUT": "30"}
        for name in ("EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
            self.env.pop(name, None)
        self.folder = folder
        self.processes: dict[str, CeleryProcess] = {}

    def launch(self, label: str, *queues: str) -> None:
        name = f"race-{label}-{os.getpid()}@{socket.gethostname()}"
        args = ["--pool=solo", "--concurrency=1", "-l", "info", "-n", name,
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if queues:
            args += ["-Q", ",".join(queues)]
        process = CeleryProcess("worker", env=self.env, log=self.folder / f"worker-{label}.log",
                                cwd=django_settings.BASE_DIR, args=args)
        self.processes[name] = process.launch()

    def wait_until_ready(self) -> None:
        for process in self.processes.values():
            process.wait_until(" ready.")

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.redis.stop()

    def inspect(self):
        return app.control.inspect(destination=list(self.processes), timeout=5)

    def swept(self) -> dict[str, int]:
        """How many sweeps each worker has run (its remote-control statistics)."""
        stats = self.inspect().stats() or {}
        return {name: stats.get(name, {}).get("total", {}).get(SWEEP, 0) for name in self.processes}

    def sent_keys(self) -> dict[str, list[str]]:
        """The outbox keys each worker logged as sent."""
        return {name: SENT_LINE.findall(process.log.read_text(errors="replace"))
                for name, process in self.processes.items()}


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory, smtp_server):
    if connection.vendor != "postgresql":
        pytest.fail("the worker tests need PostgreSQL so that the workers share the test database: "
                    f"set DATABASE_URL=postgres://... (got {connection.vendor})")
    running = Workers(tmp_path_factory.mktemp("outbox-race"), smtp_server.port)
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    with django_db_blocker.unblock():
        before = other_sessions()
    try:
        running.redis.start()
        app.conf.task_always_eager, app.conf.broker_url = False, running.redis.url
        app._pool, app.amqp._producer_pool = None, None
        running.launch("all")  # no -Q: every queue
        running.launch("emails", "emails")
        running.wait_until_ready()
        yield running
    finally:
        running.stop()
        app.conf.task_always_eager, app.conf.broker_url = previous
        app._pool, app.amqp._producer_pool = None, None
        with django_db_blocker.unblock():  # let their sessions end before the test database is dropped
            wait_for(lambda: not other_sessions() - before, timeout=15, what="the workers' database sessions to end")



@pytest.fixture
def smtp(smtp_server):
    smtp_server.handler.reset()
    yield smtp_server.handler
    smtp_server.handler.release()


def test_a_worker_started_without_q_consumes_every_queue_and_one_started_with_q_only_its_own(workers):
    queues = workers.inspect().active_queues() or {}
    assert {name: {queue["name"] for queue in queues.get(name, [])} for name in workers.processes} == {
        name: EVERY_QUEUE if name.startswith("race-all-") else {"emails"} for name in workers.processes}
    # The workers bound each queue in Redis with its own routing key: a message published to the
    # exchange "celery" with the key "celery" reaches the default queue only, never a copy in each
    # queue (a bare Queue(name) would have been bound with "celery": hdh_access/settings.py).
    # kombu keeps the bindings of the exchange "celery" as "<routing key>\x06\x16<pattern>\x06\x16<queue>".
    bindings = redis.Redis.from_url(workers.redis.url).smembers("_kombu.binding.celery")
    parsed = [binding.decode().split("\x06\x16") for binding in bindings]
    assert sorted((key, queue) for key, _pattern, queue in parsed) == sorted((name, name) for name in EVERY_QUEUE)


def test_two_workers_sweeping_the_outbox_at_once_send_each_message_exactly_once(workers, smtp):
    for n in range(MESSAGES):
        outbox.queue(key=f"race:{n}", to=f"destinataire-{n}@example.org", language="fr",
                     rendered=outbox.Rendered(subject=f"Message {n}", text="Bonjour", html="<p>Bonjour</p>"))
    swept_before = workers.swept()
    smtp.close_gate()

    tasks.send_pending_outbox.delay()
    tasks.send_pending_outbox.delay()

    # Each sweep sends on one connection, one message at a time: two messages at the gate are
    # two sweeps in flight at once, one on each worker.
    wait_for(lambda: smtp.waiting == 2, timeout=TIMEOUT, what="both workers' sweeps to reach the SMTP server",
             log=next(iter(workers.processes.values())).log)
    assert OutboxMessage.objects.filter(claimed_until__isnull=False).count() == 2
    smtp.open_gate()
    wait_for(lambda: all(workers.swept()[name] == swept_before[name] + 1 for name in workers.processes),
             timeout=TIMEOUT, what="each worker to finish its sweep")

    assert sorted(m["To"] for m in smtp.accepted) == sorted(f"destinataire-{n}@example.org" for n in range(MESSAGES))
    rows = OutboxMessage.objects.filter(key__startswith="race:")
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert set(rows.values_list("attempts", flat=True)) == {1}  # each row claimed once, by one worker
    by_worker = workers.sent_keys()
    assert all(by_worker.values()), f"a worker sent nothing: {by_worker}"
    assert sorted(key for keys in by_worker.values() for key in keys) == sorted(f"race:{n}" for n in range(MESSAGES))
