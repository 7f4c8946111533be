"""Reminders of statutory due dates: a few working days before, and once overdue; each once."""

from __future__ import annotations

import time_machine
from django.core.management import call_command

from notifications import reminders, tasks
from notifications.models import OutboxMessage
from tests.conftest import paris


def reminders_at(when) -> list[OutboxMessage]:
    with time_machine.travel(when, tick=False):
        return reminders.queue_reminders()


def cesrees_review_from_8_january(story):
    """In CESREES review since Wednesday 8 January 2025: due Monday 10 February (8 February is a Saturday)."""
    return story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"))


def test_a_reminder_goes_three_working_days_before_the_due_date_then_once_overdue(story, settings):
    settings.HDH_REMINDER_WORKING_DAYS = 3
    request = cesrees_review_from_8_january(story)

    assert reminders_at(paris(2025, 2, 4, 7)) == []  # Tuesday: the due date is 4 working days away
    (due_soon,) = reminders_at(paris(2025, 2, 5, 7))  # Wednesday: 3 working days (6, 7 and 10 February)
    assert reminders_at(paris(2025, 2, 6, 7)) == []  # already sent for this stay
    assert reminders_at(paris(2025, 2, 10, 7)) == []  # the due date itself: still "due soon", sent
    (overdue,) = reminders_at(paris(2025, 2, 11, 7))
    assert reminders_at(paris(2025, 2, 12, 7)) == []

    assert due_soon.to == overdue.to == "cesrees@hdh.example"
    assert " ".join(due_soon.subject.split()) == "HDH-2025-0001 : échéance légale le 10 février 2025 – Avis du CESREES"
    assert "dans 3 jours ouvrés" in due_soon.text
    assert "l'avis est réputé favorable le 11 février 2025" in due_soon.text
    assert "http://127.0.0.1:8000/backoffice/requests/HDH-2025-0001/" in due_soon.html
    assert overdue.subject == "HDH-2025-0001 : échéance légale dépassée – Avis du CESREES"
    assert "dépassée depuis 1 jour." in overdue.text
    stay = int(request.delay.current_since.timestamp() * 1_000_000)
    assert due_soon.key.startswith(f"reminder:due_soon:{request.pk}:{stay}:")
    assert overdue.key.startswith(f"reminder:overdue:{request.pk}:{stay}:")


def test_no_reminder_on_a_weekend_or_a_public_holiday(story):
    story((paris(2025, 4, 14), "submit"))  # completeness: 7 working days, due 24 April (Easter Monday skipped)

    assert reminders_at(paris(2025, 4, 26, 7)) == []  # Saturday, overdue but not a working day
    assert reminders_at(paris(2025, 5, 1, 7)) == []  # 1 May
    (overdue,) = reminders_at(paris(2025, 5, 2, 7))
    assert overdue.to == "secretariat@hdh.example"


def test_a_stage_that_resumes_after_the_applicant_answered_is_reminded_again(story, step, settings):
    settings.HDH_REMINDER_WORKING_DAYS = 3
    request = cesrees_review_from_8_january(story)
    (first,) = reminders_at(paris(2025, 2, 5, 7))
    step(request, paris(2025, 2, 6), "ask")
    step(request, paris(2025, 2, 7), "answer")

    assert reminders_at(paris(2025, 2, 11, 7)) == []  # the period restarted when the applicant answered
    (second,) = reminders_at(paris(2025, 3, 4, 7))  # 7 February + 1 month = Friday 7 March

    assert second.key != first.key and "7 mars 2025" in second.subject


def test_the_periodic_task_queues_and_sends_reminders(story, smtp):
    cesrees_review_from_8_january(story)

    with time_machine.travel(paris(2025, 2, 11, 7), tick=False):
        assert tasks.send_reminders.delay().get() == 1
        assert tasks.send_reminders.delay().get() == 0

    reminders = [m for m in smtp.accepted if "échéance légale" in str(m["Subject"])]
    assert [m["To"] for m in reminders] == ["cesrees@hdh.example"]


def test_send_reminders_command(story, capsys):
    cesrees_review_from_8_january(story)

    call_command("send_reminders", "--as-of", "2025-02-11T07:00:00+01:00")

    out = capsys.readouterr().out
    assert "1 reminder(s) queued." in out and "1 email(s) sent" in out
