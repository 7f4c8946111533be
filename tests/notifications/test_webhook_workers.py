"""Webhooks with real Celery workers, a real beat and a real HTTP receiver.

A private redis-server on a free port (never the shared one), the receiver of this process
(tests/notifications/receiver.py), two workers (``--pool=solo``) on the test database, one
started without -Q (every queue, as ``make serve``'s) and one with ``-Q webhooks``, and a beat that
runs only the webhooks' sweep, every second:

- a committed transition reaches the receiver, signed, through the worker; a first answer 500 is
  retried by the beat's sweep after its backoff, with the same webhook-id;
- two workers sweeping at once post each delivery exactly once: the receiver holds the POSTs at a
  gate until one delivery of each sweep waits there (two rows claimed at once, one by each
  worker), then lets them go and the two sweeps race over the same rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import socket

import pytest
from django.conf import settings as django_settings
from django.db import connection

from access_requests import services
from access_requests.workflow import State
from hdh_access.celery import app
from notifications import tasks
from notifications.models import OutboxStatus, WebhookDelivery, WebhookEvent
from notifications.webhooks import services as webhooks
from notifications.webhooks.signing import new_webhook_id
from tests.processes import other_sessions

from .processes import CeleryProcess, RedisServer, database_url, wait_for
from .smtp import free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 40.0
DELIVERIES = 30
POSTED_LINE = re.compile(r"webhooks: (msg_[0-9a-f]+) \([a-z.]+\) posted to subscription")
# The workers' webhook settings: a fast backoff and sweep; a timeout longer than the race's gate.
WORKER_SETTINGS = {
    "HDH_WEBHOOK_BACKOFF_SECONDS": "1", "HDH_WEBHOOK_BACKOFF_MAX_SECONDS": "2", "HDH_WEBHOOK_MAX_ATTEMPTS": "4",
    "HDH_WEBHOOK_TIMEOUT_SECONDS": "20", "HDH_WEBHOOK_CLAIM_SECONDS": "120", "HDH_WEBHOOK_SWEEP_SECONDS": "1",
    "HDH_WEBHOOK_ALLOW_HTTP": "true", "HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
}


class Cluster:
    def __init__(self, folder) -> None:
        self.redis = RedisServer(free_port(), folder)
        self.folder = folder
        self.env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": self.redis.url,
                    "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1",
                    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", **WORKER_SETTINGS}
        self.workers: dict[str, CeleryProcess] = {}
        self.beat = CeleryProcess("beat", env=self.env, log=folder / "beat.log", cwd=django_settings.BASE_DIR,
                                  args=["--scheduler", "tests.notifications.beat:WebhookSweepOnlyScheduler",
                                        "--max-interval", "1", "-l", "info"])

    def launch(self, label: str, *queues: str) -> None:
        name = f"hooks-{label}-{os.getpid()}@{socket.gethostname()}"
        args = ["--pool=solo", "--concurrency=1", "-l", "info", "-n", name,
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if queues:
            args += ["-Q", ",".join(queues)]
        self.workers[name] = CeleryProcess("worker", env=self.env, log=self.folder / f"worker-{label}.log",
                                           cwd=django_settings.BASE_DIR, args=args).launch()

    def start(self) -> Cluster:
        self.redis.start()
        self.launch("all")  # no -Q: every queue
        self.launch("webhooks", "webhooks")
        for worker in self.workers.values():
            worker.wait_until(" ready.")
        self.beat.start("beat: Starting...")
        return self

    def stop(self) -> None:
        for process in (self.beat, *self.workers.values()):
            process.stop()
        self.redis.stop()

    def posted(self) -> dict[str, list[str]]:
        """The webhook-ids each worker logged as posted."""
        return {name: POSTED_LINE.findall(worker.log.read_text(errors="replace"))
                for name, worker in self.workers.items()}


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.fail("the worker tests need PostgreSQL so that the workers share the test database: "
                    f"set DATABASE_URL=postgres://... (got {connection.vendor})")
    running = Cluster(tmp_path_factory.mktemp("webhook-workers"))
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    with django_db_blocker.unblock():
        before = other_sessions()
    try:
        running.start()
        app.conf.task_always_eager, app.conf.broker_url = False, running.redis.url
        app._pool, app.amqp._producer_pool = None, None
        yield running
    finally:
        running.stop()
        app.conf.task_always_eager, app.conf.broker_url = previous
        app._pool, app.amqp._producer_pool = None, None
        with django_db_blocker.unblock():  # let their sessions end before the test database is dropped
            wait_for(lambda: not other_sessions() - before, timeout=15, what="the workers' database sessions to end")


def verify(secret: str, headers: dict, body: str) -> None:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert expected in headers["webhook-signature"].split(" ")


def test_a_committed_transition_is_posted_by_the_worker_and_a_500_retried_by_the_beat_sweep(
        cluster, receiver, make_request, personas):
    request = make_request(State.SUBMITTED)
    _subscription, secret = webhooks.create_subscription(
        owner=personas["applicant"], url=receiver.url(), events=[WebhookEvent.TRANSITION], actor=personas["applicant"])
    receiver.answers.append((500, b"busy"))

    services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])  # commits: the sweep is enqueued

    wait_for(lambda: WebhookDelivery.objects.filter(status=OutboxStatus.SENT).exists(), timeout=TIMEOUT,
             what="the delivery to be posted, refused, then posted again", log=next(iter(cluster.workers.values())).log)
    row = WebhookDelivery.objects.get()
    assert (row.attempts, row.response_status, row.last_error) == (2, 200, "")
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == row.webhook_id
    assert second.at - first.at >= 1  # the backoff
    for post in (first, second):
        verify(secret, post.headers, post.body)
        assert json.loads(post.body)["data"]["action"] == "forward_to_cesrees"


def test_two_workers_sweeping_at_once_post_each_delivery_exactly_once(cluster, receiver, personas):
    subscription, _secret = webhooks.create_subscription(
        owner=personas["applicant"], url=receiver.url(), events=list(WebhookEvent.values), actor=personas["applicant"])
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(subscription=subscription, webhook_id=new_webhook_id(), event_type=WebhookEvent.MESSAGE,
                        event_key=f"race:{n}", reference="HDH-2026-0001", body=json.dumps({"n": n}))
        for n in range(DELIVERIES)])
    ids = set(WebhookDelivery.objects.values_list("webhook_id", flat=True))
    receiver.close_gate()

    tasks.send_pending_webhooks.delay()
    tasks.send_pending_webhooks.delay()

    # Each sweep posts one delivery at a time: two at the gate are two sweeps in flight, one per worker.
    wait_for(lambda: receiver.waiting == 2, timeout=TIMEOUT, what="both workers' sweeps to reach the receiver",
             log=next(iter(cluster.workers.values())).log)
    assert WebhookDelivery.objects.filter(claimed_until__isnull=False).count() == 2
    receiver.open_gate()
    wait_for(lambda: WebhookDelivery.objects.filter(status=OutboxStatus.SENT).count() == DELIVERIES,
             timeout=TIMEOUT, what="every delivery to be posted")

    assert sorted(receiver.ids()) == sorted(ids)  # each one posted once
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
    # A worker logs a delivery after marking it sent: on a busy machine the last line may come later.
    wait_for(lambda: sum(1 for posted in cluster.posted().values() for i in posted if i in ids) >= DELIVERIES,
             timeout=TIMEOUT, what="the workers to log every delivery they posted")
    by_worker = {name: [i for i in posted if i in ids] for name, posted in cluster.posted().items()}
    assert all(by_worker.values()), f"a worker posted nothing: {by_worker}"
    assert sorted(i for posted in by_worker.values() for i in posted) == sorted(ids)
