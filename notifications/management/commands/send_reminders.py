"""python manage.py send_reminders [--as-of DATE]: what the 07:00 working-day beat job does."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from hdh_access.lib.cli import parse_as_of
from notifications import outbox, reminders


class Command(BaseCommand):
    help = ("Queue reminders of statutory due dates (HDH_REMINDER_WORKING_DAYS working days before, and once "
            "overdue), then send them. Each reminder goes once per stage visit; nothing on non-working days.")

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="date (00:00 Paris) or date-time; default: now")

    def handle(self, *args, as_of=None, **options):
        created = reminders.queue_reminders(now=parse_as_of(as_of))
        self.stdout.write(f"{len(created)} reminder(s) queued.")
        if created:
            outcomes = outbox.send_pending()
            sent = sum(1 for o in outcomes.values() if o.status == outbox.SENT)
            self.stdout.write(f"{sent} email(s) sent; still pending: {outbox.pending_count()}")
