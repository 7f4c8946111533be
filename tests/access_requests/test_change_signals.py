"""What the services announce inside their transaction besides the request's own events: each
message of the thread (``message_posted``) and each event of a holder task (``task_changed``),
received by the apps above (the webhook deliveries) without access_requests importing them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from access_requests import services, signals
from access_requests.models import HolderTask, Message
from access_requests.workflow import EventAction, State
from tests.conftest import SAMPLE_PDF

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Every message_posted and task_changed, with whether the transaction was still open."""
    calls: list[tuple] = []

    def on_message(sender, *, message, **kwargs):
        calls.append(("message", message.pk, message.attachments.count(), connection.in_atomic_block))

    def on_task(sender, *, task, event, **kwargs):
        calls.append(("task", task.holder.code, event.action, event.to_state, connection.in_atomic_block))

    signals.message_posted.connect(on_message, dispatch_uid="test.heard.message")
    signals.task_changed.connect(on_task, dispatch_uid="test.heard.task")
    yield calls
    signals.message_posted.disconnect(dispatch_uid="test.heard.message")
    signals.task_changed.disconnect(dispatch_uid="test.heard.task")


def test_every_message_is_announced_in_its_transaction_with_its_attachments(make_request, personas, heard,
                                                                            settings, tmp_path, monkeypatch):
    from tests.conftest import use_private_media

    use_private_media(settings, tmp_path, monkeypatch)
    request = make_request(State.SUBMITTED)
    note = services.post_message(request_id=request.pk, actor=personas["secretariat"], body="Note", internal=True,
                                 uploads=[SimpleUploadedFile("avis.pdf", SAMPLE_PDF, content_type="application/pdf")])
    asked = services.request_information(request_id=request.pk, actor=personas["secretariat"], question="Précisez ?")

    question = Message.objects.get(request=request, event__isnull=False)
    assert asked.state == State.AWAITING_APPLICANT
    assert heard == [("message", note.pk, 1, True), ("message", question.pk, 0, True)]


def test_every_task_event_is_announced_in_its_transaction(make_request, personas, heard):
    request = make_request(State.CNIL_REVIEW, codes=("snds", "oscour"))

    services.record_cnil_decision(request_id=request.pk, actor=personas["cnil"], authorised=True,
                                  decision_number="DR-2025-001", decision_date=dt.date(2025, 3, 1))
    task = HolderTask.objects.get(request=request, holder__code="cnam")
    services.record_task_contract_signed(task_id=task.pk, actor=personas["cnam"])
    services.set_task_due_date(task_id=task.pk, actor=personas["secretariat"], due_date=dt.date(2030, 1, 1))
    services.assign_task(task_id=task.pk, actor=personas["secretariat"], assignee=personas["cnam"])

    assert heard == [
        ("task", "cnam", "authorise", "contracting", True),  # opened, one per holder
        ("task", "spf", "authorise", "contracting", True),
        ("task", "cnam", "start_matching", "matching", True),
        ("task", "cnam", EventAction.SET_DUE_DATE, "matching", True),
        ("task", "cnam", EventAction.ASSIGN, "matching", True),
    ]
