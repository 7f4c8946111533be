"""python manage.py send_webhooks [--retry-failed]: what the beat sweep of the webhooks does."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from notifications import outbox
from notifications.models import OutboxStatus, WebhookDelivery
from notifications.webhooks import delivery


class Command(BaseCommand):
    help = "Post every due webhook delivery now (the periodic sweep), optionally retrying failed ones first."

    def add_arguments(self, parser):
        parser.add_argument("--retry-failed", action="store_true",
                            help="put failed deliveries back to be posted, with a fresh attempt budget")

    def handle(self, *args, retry_failed=False, **options):
        if retry_failed:
            ids = WebhookDelivery.objects.filter(status=OutboxStatus.FAILED).values_list("pk", flat=True)
            count = outbox.put_back(WebhookDelivery.objects.all(), ids)
            self.stdout.write(f"{count} failed delivery(ies) put back to be posted.")
        counts = dict.fromkeys((outbox.SENT, outbox.RETRY, outbox.FAILED, outbox.SKIPPED), 0)
        for outcome in delivery.send_pending().values():
            counts[outcome.status] += 1
        self.stdout.write(
            f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}, "
            f"skipped {counts['skipped']}; still pending: {delivery.pending_count()}")
