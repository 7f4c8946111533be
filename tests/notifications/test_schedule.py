"""The periodic jobs: listed in the beat schedule, each with its command."""

from __future__ import annotations

import datetime as dt

import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core.management import get_commands

from hdh_access.celery import app


def test_beat_runs_the_sweep_every_minute_reminders_on_weekday_mornings_and_the_report_on_monday():
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert schedule["send-outbox-sweep"]["schedule"] == 60.0
    assert schedule["send-webhooks-sweep"]["schedule"] == 60.0
    assert schedule["send-reminders-working-days"]["schedule"] == crontab(hour=7, minute=0, day_of_week="1-5")
    assert schedule["send-weekly-report-monday"]["schedule"] == crontab(hour=8, minute=0, day_of_week=1)
    assert settings.CELERY_TIMEZONE == "Europe/Paris"
    for entry in schedule.values():
        assert entry["task"] in app.tasks


def test_the_weekly_report_is_due_at_eight_on_monday_in_paris():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    weekly = settings.CELERY_BEAT_SCHEDULE["send-weekly-report-monday"]["schedule"]
    weekly = crontab(hour=weekly.hour, minute=weekly.minute, day_of_week=weekly.day_of_week, app=app)
    sunday_evening = dt.datetime(2025, 6, 15, 20, 0, tzinfo=paris)

    with time_machine.travel(sunday_evening, tick=False):
        remaining = weekly.remaining_estimate(sunday_evening)

    assert (sunday_evening + remaining).astimezone(paris) == dt.datetime(2025, 6, 16, 8, 0, tzinfo=paris)


def test_each_periodic_job_has_a_command():
    assert {"send_outbox", "send_webhooks", "send_reminders", "send_weekly_report",
            "refresh_delays"} <= set(get_commands())


def test_the_outbox_tasks_acknowledge_late():
    for name in ("send_pending_outbox", "send_outbox_message", "send_reminders", "send_weekly_report"):
        assert app.tasks[f"notifications.tasks.{name}"].acks_late
