"""A beat scheduler for the worker tests: only the outbox sweep, from the real schedule.

``celery beat --scheduler tests.notifications.beat:SweepOnlyScheduler`` runs the sweep entry
of CELERY_BEAT_SCHEDULE (every HDH_OUTBOX_SWEEP_SECONDS) and nothing else, so a test run at
08:00 on a Monday does not also get the weekly report. In memory: no schedule file.
"""

from __future__ import annotations

from celery.beat import Scheduler

SWEEP = "send-outbox-sweep"


class SweepOnlyScheduler(Scheduler):
    def setup_schedule(self):
        self.install_default_entries(self.data)
        self.merge_inplace({SWEEP: self.app.conf.beat_schedule[SWEEP]})


class WebhookSweepOnlyScheduler(Scheduler):
    """The webhooks' sweep entry only (every HDH_WEBHOOK_SWEEP_SECONDS), for their worker tests."""

    def setup_schedule(self):
        self.install_default_entries(self.data)
        self.merge_inplace({"send-webhooks-sweep": self.app.conf.beat_schedule["send-webhooks-sweep"]})
