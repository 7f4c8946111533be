"""Every task lands on the queue of its kind, and every task may be acknowledged late.

The table below is the one of docs/operations.md ("Celery"): a new task fails the first test
until someone decides its queue (and checks that it is idempotent, since it is acked late).
The routing is checked twice: by Celery's router, and by publishing every task to a private
redis-server (no worker reads it) the two ways the code sends them (beat's ``send_task`` by
name, the services' ``enqueue``) and reading the Redis lists the queues are.
"""

from __future__ import annotations

import json

import pytest
import redis

from hdh_access.celery import app
from hdh_access.lib.broker import enqueue

from .notifications.processes import RedisServer
from .notifications.smtp import free_port

QUEUE_OF_TASK = {
    "notifications.tasks.send_pending_outbox": "emails",
    "notifications.tasks.send_outbox_message": "emails",
    "notifications.tasks.notify_new_messages": "emails",
    "notifications.tasks.send_reminders": "emails",
    "notifications.tasks.send_pending_webhooks": "webhooks",
    "notifications.tasks.send_weekly_report": "reports",
    "delays.tasks.warm_dashboard": "reports",
    "delays.tasks.recompute_request_delay": "delays",
    "delays.tasks.refresh_open_delays": "delays",
    "access_requests.tasks.scan_attachment": "celery",
    "access_requests.tasks.scan_pending_attachments": "celery",
    "access_requests.tasks.purge_form_submissions": "celery",
    "accounts.tasks.purge_unconfirmed_accounts": "celery",
}


# The tasks given an id (the others take nothing).
TAKES_AN_ID = {"notifications.tasks.send_outbox_message", "delays.tasks.recompute_request_delay",
               "access_requests.tasks.scan_attachment"}


def our_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def test_every_task_of_the_project_has_its_queue_decided():
    assert our_tasks() == sorted(QUEUE_OF_TASK)


@pytest.mark.parametrize(("name", "queue"), sorted(QUEUE_OF_TASK.items()))
def test_celery_routes_each_task_to_the_queue_of_its_kind(name, queue):
    assert app.amqp.router.route({}, name)["queue"].name == queue


def test_the_queues_are_the_five_kinds_and_a_plain_worker_consumes_them_all():
    # A worker started without -Q consumes app.amqp.queues: every queue of the settings.
    assert sorted(app.amqp.queues) == ["celery", "delays", "emails", "reports", "webhooks"]
    assert set(QUEUE_OF_TASK.values()) == set(app.amqp.queues)


def test_every_task_is_acknowledged_late_and_requeued_if_its_worker_dies():
    """acks_late only on idempotent tasks (the style guide): each one's reason is in docs/operations.md."""
    app.loader.import_default_modules()
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert {name: app.tasks[name].acks_late for name in our_tasks()} == dict.fromkeys(QUEUE_OF_TASK, True)


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    server = RedisServer(free_port(), tmp_path_factory.mktemp("queues-redis")).start()
    yield server
    server.stop()


@pytest.fixture
def publishing_to(private_redis):
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager, app.conf.broker_url = False, private_redis.url
    app._pool, app.amqp._producer_pool = None, None
    client = redis.Redis.from_url(private_redis.url)
    client.flushdb()
    yield client
    app.conf.task_always_eager, app.conf.broker_url = previous
    app._pool, app.amqp._producer_pool = None, None
    client.close()


def _tasks_in(client: redis.Redis, queue: str) -> list[str]:
    return sorted(json.loads(raw)["headers"]["task"] for raw in client.lrange(queue, 0, -1))


def test_tasks_sent_to_redis_by_name_and_by_enqueue_wait_in_the_list_of_their_queue(publishing_to):
    for name in QUEUE_OF_TASK:
        args = (1,) if name in TAKES_AN_ID else ()
        app.send_task(name, args=args)  # how beat sends its jobs
        assert enqueue(name, *args) is True  # how services send theirs, after a commit

    for queue in app.amqp.queues:
        expected = sorted(name for name, kind in QUEUE_OF_TASK.items() if kind == queue)
        assert _tasks_in(publishing_to, queue) == sorted(expected * 2), queue

