"""python manage.py notify_messages [--as-of DATE]: what the every-minute beat job does."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from hdh_access.lib.cli import parse_as_of
from notifications import dossier_messages, outbox


class Command(BaseCommand):
    help = ("Write one email per recipient and request about the new messages of its thread (once the first "
            "is HDH_MESSAGE_EMAIL_DELAY_SECONDS old; never the messages' text), then send them.")

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="date (00:00 Paris) or date-time; default: now")

    def handle(self, *args, as_of=None, **options):
        batch = dossier_messages.notify_new_messages(now=parse_as_of(as_of))
        self.stdout.write(f"{batch.messages} message(s) of {batch.requests} request(s): "
                          f"{len(batch.emails)} email(s) queued.")
        if batch.emails:
            outcomes = outbox.send_pending()
            sent = sum(1 for o in outcomes.values() if o.status == outbox.SENT)
            self.stdout.write(f"{sent} email(s) sent; still pending: {outbox.pending_count()}")
