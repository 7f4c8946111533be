"""python manage.py send_outbox [--retry-failed]: what the every-minute beat sweep does."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from notifications import outbox
from notifications.models import OutboxMessage, OutboxStatus


class Command(BaseCommand):
    help = "Send every due outbox email now (the periodic sweep), optionally retrying failed ones first."

    def add_arguments(self, parser):
        parser.add_argument("--retry-failed", action="store_true",
                            help="put failed emails back to be sent, with a fresh attempt budget")

    def handle(self, *args, retry_failed=False, **options):
        if retry_failed:
            ids = list(OutboxMessage.objects.filter(status=OutboxStatus.FAILED).values_list("pk", flat=True))
            count = outbox.retry_messages(message_ids=ids, actor="manage.py send_outbox")
            self.stdout.write(f"{count} failed email(s) put back to be sent.")
        outcomes = outbox.send_pending()
        counts = {status: 0 for status in (outbox.SENT, outbox.RETRY, outbox.FAILED,
                                           outbox.SKIPPED)}
        for outcome in outcomes.values():
            counts[outcome.status] += 1
        self.stdout.write(
            f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}, "
            f"skipped {counts['skipped']}; still pending: {outbox.pending_count()}")
