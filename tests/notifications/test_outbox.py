"""The outbox: claim, send, retry with backoff, give up visibly, never twice."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from access_requests.workflow import State
from notifications import outbox
from notifications.models import OutboxMessage, OutboxStatus

RENDERED = outbox.Rendered(subject="HDH-2025-0001 : demande déposée", text="Bonjour,\n", html="<p>Bonjour,</p>")


def queued(key: str = "test:1", to: str = "porteur@inserm.example") -> OutboxMessage:
    row, created = outbox.queue(key=key, to=to, language="fr", rendered=RENDERED)
    assert created
    return row


def reload(row: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=row.pk)


@pytest.fixture
def fast_backoff(settings):
    settings.HDH_OUTBOX_BACKOFF_SECONDS = 60
    settings.HDH_OUTBOX_BACKOFF_MAX_SECONDS = 600
    settings.HDH_OUTBOX_MAX_ATTEMPTS = 4


def test_a_pending_message_is_sent_once_and_marked_sent(db, smtp):
    row = queued()

    assert outbox.deliver(row.pk).status == outbox.SENT
    assert outbox.deliver(row.pk).status == outbox.SKIPPED

    row = reload(row)
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None
    assert row.claimed_until is None
    assert len(smtp.accepted) == 1


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "554 5.7.1 Rejected for now"])
def test_smtp_refusing_then_accepting_is_retried_with_growing_backoff(db, smtp, fast_backoff, reply):
    smtp.refuse_next(2, reply)
    row = queued()
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        assert outbox.deliver(row.pk) == outbox.Outcome(outbox.RETRY, retry_in=60)
        assert outbox.deliver(row.pk).status == outbox.SKIPPED  # not due yet
    first = reload(row)
    assert first.status == OutboxStatus.PENDING and first.attempts == 1
    assert first.next_attempt_at == start + dt.timedelta(seconds=60)
    assert reply.split()[0] in first.last_error

    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert outbox.deliver(row.pk) == outbox.Outcome(outbox.RETRY, retry_in=120)
    with time_machine.travel(start + dt.timedelta(seconds=61 + 121), tick=False):
        assert outbox.deliver(row.pk).status == outbox.SENT

    row = reload(row)
    assert row.status == OutboxStatus.SENT and row.attempts == 3
    assert smtp.refused == 2 and len(smtp.accepted) == 1


def test_a_message_that_keeps_failing_is_marked_failed_and_logged(db, smtp, fast_backoff, caplog):
    smtp.refuse_next(10, "550 5.1.1 Mailbox unavailable")
    row = queued()
    when = timezone.now()
    with caplog.at_level(logging.WARNING, logger="notifications.outbox"):
        for _attempt in range(4):
            with time_machine.travel(when, tick=False):
                outcome = outbox.deliver(row.pk)
            when += dt.timedelta(hours=1)

    assert outcome.status == outbox.FAILED
    row = reload(row)
    assert row.status == OutboxStatus.FAILED and row.attempts == 4
    assert row.last_error.startswith("permanent: SMTPDataError: (550")
    assert "giving up on test:1" in caplog.text
    with time_machine.travel(when, tick=False):
        assert outbox.send_pending() == {}  # never picked up again by the sweep
    assert not smtp.accepted


def test_backoff_doubles_up_to_its_maximum(settings):
    settings.HDH_OUTBOX_BACKOFF_SECONDS = 60
    settings.HDH_OUTBOX_BACKOFF_MAX_SECONDS = 900

    assert [outbox.backoff_seconds(n) for n in range(1, 7)] == [60, 120, 240, 480, 900, 900]


def test_a_claimed_message_is_left_to_its_sender_until_the_claim_expires(db, smtp, settings):
    settings.HDH_OUTBOX_CLAIM_SECONDS = 300
    row = queued()
    start = timezone.now()
    # Another sender claimed it and died in the middle of the SMTP conversation.
    OutboxMessage.objects.filter(pk=row.pk).update(claimed_until=start + dt.timedelta(seconds=300), attempts=1)

    with time_machine.travel(start + dt.timedelta(seconds=10), tick=False):
        assert outbox.deliver(row.pk).status == outbox.SKIPPED
        assert outbox.send_pending() == {}
    with time_machine.travel(start + dt.timedelta(seconds=301), tick=False):
        assert outbox.send_pending() == {row.pk: outbox.Outcome(outbox.SENT)}

    assert reload(row).attempts == 2 and len(smtp.accepted) == 1


def test_a_message_whose_last_attempt_never_finished_is_marked_failed(db, smtp, settings):
    settings.HDH_OUTBOX_MAX_ATTEMPTS = 3
    row = queued()
    past = timezone.now() - dt.timedelta(seconds=1)
    OutboxMessage.objects.filter(pk=row.pk).update(claimed_until=past, attempts=3)

    assert outbox.send_pending() == {}

    row = reload(row)
    assert row.status == OutboxStatus.FAILED and "did not finish" in row.last_error
    assert not smtp.accepted


def test_the_sweep_sends_due_messages_oldest_first_within_its_batch(db, smtp, settings):
    settings.HDH_OUTBOX_BATCH = 2
    rows = [queued(key=f"test:{n}", to=f"person{n}@hdh.example") for n in range(3)]

    first = outbox.send_pending()
    second = outbox.send_pending()

    assert list(first) == [rows[0].pk, rows[1].pk] and list(second) == [rows[2].pk]
    assert [m["To"] for m in smtp.accepted] == ["person0@hdh.example", "person1@hdh.example", "person2@hdh.example"]


def test_when_the_mail_server_is_unreachable_the_sweep_stops_at_the_first_message(db, settings, caplog):
    from .smtp import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    rows = [queued(key=f"test:{n}", to=f"person{n}@hdh.example") for n in range(3)]

    with caplog.at_level(logging.WARNING, logger="notifications.outbox"):
        outcomes = outbox.send_pending()

    assert list(outcomes) == [rows[0].pk] and outcomes[rows[0].pk].unreachable
    assert [reload(row).attempts for row in rows] == [1, 0, 0]  # the others were not even tried
    assert "ConnectionRefusedError" in reload(rows[0]).last_error
    assert "2 message(s) left for the next sweep" in caplog.text


def test_the_same_key_is_never_queued_twice(db):
    queued()
    row, created = outbox.queue(key="test:1", to="autre@hdh.example", language="en", rendered=RENDERED)

    assert not created and row.to == "porteur@inserm.example"
    assert OutboxMessage.objects.count() == 1


def test_the_emails_of_one_change_are_written_in_one_insert(db, django_assert_num_queries):
    messages = [{"key": f"test:team:{n}", "to": f"membre{n}@cesrees.example", "language": "fr", "rendered": RENDERED}
                for n in range(8)]
    with django_assert_num_queries(3):  # a savepoint, the INSERT, its release
        rows = outbox.queue_many(messages)

    assert [row.key for row in rows] == [m["key"] for m in messages]
    assert all(row.pk for row in rows)
    assert {(row.key, row.to, row.subject, row.status) for row in OutboxMessage.objects.all()} == {
        (m["key"], m["to"], RENDERED.subject, OutboxStatus.PENDING) for m in messages}


def test_a_team_told_of_a_request_in_its_queue_is_written_in_one_insert(db, django_assert_num_queries):
    from django.contrib.auth import get_user_model

    from notifications.messages import queue_for

    team = [get_user_model().objects.create(username=f"membre{n}", email=f"membre{n}@cesrees.example")
            for n in range(5)]
    team = list(get_user_model().objects.select_related("profile").filter(pk__in=[u.pk for u in team]))
    with django_assert_num_queries(3):  # a savepoint, one INSERT, its release
        rows = queue_for(team, key_prefix="test:queue", name="queue_entered",
                         context={"reference": "HDH-2025-0001", "title": "Étude", "state_label": "Avis du CESREES"})
    assert sorted(row.to for row in rows) == sorted(user.email for user in team)


def test_a_key_already_written_is_left_as_it_is_and_the_others_are_written(db):
    first = queued("test:team:1", to="premier@cesrees.example")
    messages = [{"key": f"test:team:{n}", "to": f"membre{n}@cesrees.example", "language": "en", "rendered": RENDERED}
                for n in range(3)]

    rows = outbox.queue_many(messages)

    assert [row.key for row in rows] == ["test:team:0", "test:team:2"]  # the rows created
    assert reload(first).to == "premier@cesrees.example" and reload(first).language == "fr"
    assert OutboxMessage.objects.count() == 3
    assert outbox.queue_many(messages) == []  # again: nothing new


def test_a_key_too_long_is_refused_before_anything_is_written(db):
    with pytest.raises(ValueError, match="outbox key longer"):
        outbox.queue_many([{"key": "test:ok", "to": "a@b.example", "language": "fr", "rendered": RENDERED},
                           {"key": "x" * 300, "to": "a@b.example", "language": "fr", "rendered": RENDERED}])
    assert not OutboxMessage.objects.exists()


def test_retry_puts_failed_messages_back_with_a_fresh_budget_but_never_resends_a_sent_one(
        db, smtp, superuser, django_capture_on_commit_callbacks):
    failed, sent, busy = queued("test:failed"), queued("test:sent"), queued("test:busy")
    OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxStatus.FAILED, attempts=10, last_error="550")
    OutboxMessage.objects.filter(pk=sent.pk).update(status=OutboxStatus.SENT, attempts=1)
    OutboxMessage.objects.filter(pk=busy.pk).update(claimed_until=timezone.now() + dt.timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        count = outbox.retry_messages(message_ids=[failed.pk, sent.pk, busy.pk], actor=superuser)

    assert count == 1
    assert reload(failed).status == OutboxStatus.SENT and reload(failed).attempts == 1
    assert reload(sent).attempts == 1 and reload(busy).status == OutboxStatus.PENDING
    assert [m["To"] for m in smtp.accepted] == ["porteur@inserm.example"]


def test_send_outbox_command_sends_and_can_retry_failed_messages(db, smtp, capsys):
    first = queued("test:1")
    failed = queued("test:2", to="cnil@cnil.example")
    OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxStatus.FAILED, attempts=10)

    call_command("send_outbox")
    assert "sent 1, to retry 0, failed 0, skipped 0; still pending: 0" in capsys.readouterr().out
    call_command("send_outbox", "--retry-failed")
    out = capsys.readouterr().out

    assert "1 failed email(s) put back to be sent." in out and "sent 1," in out
    assert reload(first).status == reload(failed).status == OutboxStatus.SENT
    assert len(smtp.accepted) == 2


@pytest.fixture
def unreachable_broker():
    """Celery publishes for real, to a Redis port where nothing listens (a broker outage)."""
    from hdh_access.celery import app

    from .smtp import free_port

    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    app._pool, app.amqp._producer_pool = None, None
    yield
    app.conf.task_always_eager, app.conf.broker_url = previous
    app._pool, app.amqp._producer_pool = None, None


def test_a_transition_commits_while_the_broker_is_down_and_the_sweep_sends_its_emails_later(
        make_request, personas, smtp, unreachable_broker, django_capture_on_commit_callbacks, caplog):
    from access_requests import services

    request = make_request(State.DRAFT)
    with caplog.at_level(logging.WARNING, logger="hdh_access.lib.broker"), \
            django_capture_on_commit_callbacks(execute=True):
        services.submit(request_id=request.pk, actor=personas["applicant"])  # does not raise

    assert type(request).objects.get(pk=request.pk).state == State.SUBMITTED
    assert "broker unavailable" in caplog.text
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == 2
    assert not smtp.accepted

    call_command("send_outbox")  # what the periodic sweep does once the broker is back

    assert sorted(m["To"] for m in smtp.accepted) == ["porteur@inserm.example", "secretariat@hdh.example"]


@pytest.mark.django_db(transaction=True)
def test_a_sweep_asked_for_while_another_runs_is_left_to_it_which_goes_round_again(smtp):
    """Without a worker (`make run`) each transition sweeps in its own thread: concurrent sweeps
    fought over the same rows (each claim a write, on SQLite each waiting for the write lock)."""
    rows = [queued(f"test:{number}") for number in range(5)]
    smtp.hold_next()  # the running sweep is stuck on its first message
    results: dict = {}

    def sweep() -> None:
        try:
            results["running"] = outbox.send_pending()
        finally:
            connection.close()

    running = threading.Thread(target=sweep)
    running.start()
    assert smtp.held.wait(20)
    asked_meanwhile = [outbox.send_pending(), outbox.send_pending()]
    smtp.release()  # the held message is refused: it is retried later
    running.join(30)

    assert asked_meanwhile == [{}, {}]  # nothing claimed, nothing skipped: left to the running sweep
    assert results["running"][rows[0].pk].status == outbox.RETRY
    assert [results["running"][row.pk].status for row in rows[1:]] == [outbox.SENT] * 4  # its next round
    assert len(smtp.accepted) == 4
    assert [reload(row).attempts for row in rows] == [1, 1, 1, 1, 1]
