"""Emails about the thread (notifications.dossier_messages): batched, one per recipient and
request, never quoting a message; who is told of what; the expert's invitation."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from access_requests import services
from access_requests.models import ExpertInvitation, Message
from access_requests.workflow import REVIEWER_ROLES, Role, State
from accounts.models import Profile
from notifications import dossier_messages
from notifications.models import OutboxMessage
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
SECRET = "Le dossier médical du patient 42 montre"  # a message text: never in an email
DELAY = dt.timedelta(seconds=121)


def post(request, actor, body=SECRET, **kwargs):
    return services.post_message(request_id=request.pk, actor=actor, body=body, **kwargs)


def run_batch(after: dt.timedelta = DELAY):
    with time_machine.travel(timezone.now() + after, tick=False):
        return dossier_messages.notify_new_messages()


def rows_to(user) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(to=user.email, key__startswith="messages:"))


# --- batching -------------------------------------------------------------------------------------
def test_a_burst_of_three_messages_gives_each_recipient_one_email_without_their_text(make_request, personas):
    request = make_request(State.SUBMITTED)
    for n in range(3):
        post(request, personas["secretariat"], f"{SECRET} ({n})")

    batch = run_batch()

    assert (batch.requests, batch.messages) == (1, 3)
    for who in ("applicant", "colleague"):  # the project leader and the organisation's members
        [row] = rows_to(personas[who])
        assert row.subject == f"{request.reference} : 3 nouveaux messages"
        assert "3 nouveaux messages vous attendent" in row.text
        assert SECRET not in row.text and SECRET not in row.html and "patient" not in row.subject
        assert f"/portal/requests/{request.reference}/#messages" in row.text
    assert {row.to for row in batch.emails} == {personas["applicant"].email, personas["colleague"].email}
    assert not rows_to(personas["secretariat"])  # never its author
    assert not Message.objects.filter(notified_at__isnull=True).exists()


def test_nothing_leaves_before_the_delay_then_the_whole_burst_leaves_at_once(make_request, personas, settings):
    settings.HDH_MESSAGE_EMAIL_DELAY_SECONDS = 120
    request = make_request(State.SUBMITTED)
    first = post(request, personas["secretariat"])

    assert run_batch(dt.timedelta(seconds=60)).emails == []
    with time_machine.travel(first.created_at + dt.timedelta(seconds=100), tick=False):
        post(request, personas["secretariat"])  # still in the burst
    batch = run_batch(dt.timedelta(seconds=121))  # the first is now older than the delay

    assert batch.messages == 2
    assert [row.subject for row in rows_to(personas["applicant"])] == [f"{request.reference} : 2 nouveaux messages"]


def test_running_the_job_again_sends_nothing_twice(make_request, personas):
    request = make_request(State.SUBMITTED)
    post(request, personas["secretariat"])
    run_batch()
    again = run_batch()
    assert again.emails == [] and again.messages == 0
    assert len(rows_to(personas["applicant"])) == 1


def test_a_later_message_gives_a_new_email(make_request, personas):
    request = make_request(State.SUBMITTED)
    post(request, personas["secretariat"])
    run_batch()
    post(request, personas["secretariat"])
    run_batch()
    assert [row.subject for row in rows_to(personas["applicant"])] == [f"{request.reference} : un nouveau message"] * 2


# --- who is told ----------------------------------------------------------------------------------
def test_an_applicants_message_tells_the_assignee_when_there_is_one(make_request, personas):
    request = make_request(State.CESREES_REVIEW)
    cesrees_colleague = make_user("rapporteur@hdh.example", role=Role.CESREES)
    services.assign(request_id=request.pk, actor=personas["cesrees"], assignee=cesrees_colleague)
    post(request, personas["applicant"])

    run_batch()

    [row] = OutboxMessage.objects.filter(key__startswith="messages:")
    assert row.to == cesrees_colleague.email
    assert f"/backoffice/requests/{request.reference}/#messages" in row.text


def test_an_applicants_message_tells_the_owners_of_the_stage_it_waits_in_when_nobody_is_assigned(
        make_request, personas):
    paused = make_request(State.AWAITING_APPLICANT, paused_from=State.CNIL_REVIEW)
    post(paused, personas["colleague"])

    run_batch()

    assert {row.to for row in OutboxMessage.objects.filter(key__startswith="messages:")} == {personas["cnil"].email}


def test_an_internal_note_tells_reviewers_only(make_request, personas):
    request = make_request(State.SUBMITTED)
    post(request, personas["cesrees"], internal=True)

    batch = run_batch()

    assert {row.to for row in batch.emails} == {personas["secretariat"].email}  # the stage's owners
    assert "Dont une note interne" in batch.emails[0].text
    assert not rows_to(personas["applicant"]) and not rows_to(personas["colleague"])


def test_someone_who_has_already_read_the_messages_is_not_emailed(make_request, personas):
    request = make_request(State.SUBMITTED)
    message = post(request, personas["secretariat"])
    services.mark_read(request_id=request.pk, actor=personas["applicant"], message_ids=[message.pk],
                       acting_as={Role.APPLICANT})

    batch = run_batch()

    assert [row.to for row in batch.emails] == [personas["colleague"].email]


def test_an_information_request_and_its_answer_have_their_transitions_email_not_a_second_one(make_request, personas):
    request = make_request(State.SUBMITTED)
    services.request_information(request_id=request.pk, actor=personas["secretariat"], question=SECRET)
    services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Voici.")

    assert run_batch().emails == []
    assert OutboxMessage.objects.filter(key__contains=":applicant:").exists()  # information_requested


def test_an_english_reader_gets_the_email_in_english(make_request, personas, english):
    Profile.objects.filter(user=personas["applicant"]).update(language="en")
    request = make_request(State.SUBMITTED)
    post(request, personas["secretariat"])

    run_batch()

    [row] = rows_to(personas["applicant"])
    assert row.language == "en"
    assert row.subject == f"{request.reference}: one new message"
    assert "A new message is waiting for you" in row.text and SECRET not in row.text


# --- the periodic job --------------------------------------------------------------------------------
def test_the_job_runs_every_minute_and_its_command_does_the_same(make_request, personas, settings, capsys):
    from hdh_access.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["notify-new-messages"]
    assert entry["schedule"] == 60.0 and entry["task"] in app.tasks
    assert app.tasks[entry["task"]].acks_late

    settings.HDH_MESSAGE_EMAIL_DELAY_SECONDS = 0
    request = make_request(State.SUBMITTED)
    post(request, personas["secretariat"])
    call_command("notify_messages")
    out = capsys.readouterr().out
    assert "1 message(s) of 1 request(s): 2 email(s) queued." in out
    assert set(OutboxMessage.objects.filter(key__startswith="messages:").values_list("status", flat=True)) == {"sent"}


def test_the_task_writes_the_emails_and_sends_them(make_request, personas, settings):
    from django.core import mail

    from notifications import tasks

    settings.HDH_MESSAGE_EMAIL_DELAY_SECONDS = 0
    request = make_request(State.SUBMITTED)
    post(request, personas["secretariat"])
    mail.outbox.clear()
    assert tasks.notify_new_messages() == 2
    sent = [m for m in mail.outbox if "nouveau message" in m.subject]
    assert {m.to[0] for m in sent} == {personas["applicant"].email, personas["colleague"].email}
    assert all(SECRET not in m.body for m in sent)


# --- an expert's invitation ---------------------------------------------------------------------------
def test_an_expert_gets_a_link_whose_token_is_stored_nowhere(make_request, personas):
    request = make_request(State.CESREES_REVIEW)
    invited = services.invite_expert(request_id=request.pk, actor=personas["cesrees"], email="expert@univ.example",
                                     acting_as=REVIEWER_ROLES)

    row = OutboxMessage.objects.get(key=f"expert-invitation:{invited.invitation.pk}")
    assert row.to == "expert@univ.example"
    link = re.search(r"https?://\S+/expert/(\S+)/", row.text)
    assert link and link.group(1) == invited.token
    assert ExpertInvitation.objects.get().token_hash == ExpertInvitation.hash_token(invited.token) != invited.token
    assert not OutboxMessage.objects.exclude(pk=row.pk).filter(text__contains=invited.token).exists()
    assert invited.token not in str(list(request.events.values_list("payload", flat=True)))
    assert "lecture seule" in row.text and request.reference in row.subject

