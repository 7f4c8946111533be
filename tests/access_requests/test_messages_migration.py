"""Migration access_requests 0012: the internal notes become internal messages, and the
information requests and answers already in the log become messages of the thread, all marked
notified (nobody is emailed about the past); backwards, the notes come back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from access_requests import services
from access_requests.workflow import State

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("access_requests", "0011_follow")]
AFTER = [("access_requests", "0012_messages")]
AT = dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    """Every app's last migration: the schema the other tests run on (later migrations included)."""
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_notes_and_the_logs_questions_and_answers_become_messages_and_come_back(personas, make_request):
    asked = make_request(State.AWAITING_APPLICANT)
    answered = make_request(State.SUBMITTED)
    services.request_information(request_id=answered.pk, actor=personas["secretariat"], question="Quelle durée ?",
                                 reason="incomplete")
    services.answer_information(request_id=answered.pk, actor=personas["applicant"], answer="Cinq ans.")
    apps = migrate(BEFORE)
    try:
        InternalNote = apps.get_model("access_requests", "InternalNote")
        note = InternalNote.objects.create(request_id=asked.pk, author_id=personas["cesrees"].pk, body="Note ancienne")
        InternalNote.objects.filter(pk=note.pk).update(created_at=AT)

        apps = migrate(AFTER)
        Message = apps.get_model("access_requests", "Message")
        rows = {(m.request_id, m.kind, m.internal, m.role, m.body, m.author_id) for m in Message.objects.all()}
        assert rows == {
            (asked.pk, "message", True, "secretariat", "Note ancienne", personas["cesrees"].pk),
            (asked.pk, "information_request", False, "secretariat", "Précisez ?", personas["secretariat"].pk),
            (answered.pk, "information_request", False, "secretariat", "Quelle durée ?", personas["secretariat"].pk),
            (answered.pk, "answer", False, "applicant", "Cinq ans.", personas["applicant"].pk),
        }
        assert not Message.objects.filter(notified_at__isnull=True).exists()
        assert Message.objects.get(body="Note ancienne").created_at == AT
        assert all(m.event_id for m in Message.objects.filter(internal=False))

        apps = migrate(BEFORE)
        InternalNote = apps.get_model("access_requests", "InternalNote")
        assert list(InternalNote.objects.values_list("body", "author_id", "created_at")) == [
            ("Note ancienne", personas["cesrees"].pk, AT)]
    finally:
        migrate(latest())
