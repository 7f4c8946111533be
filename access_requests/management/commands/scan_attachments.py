"""python manage.py scan_attachments [--retry-errors] [--include-unscanned]: what the periodic
antivirus sweep does (scan every quarantined attachment with clamd)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from access_requests import services


class Command(BaseCommand):
    help = "Scan every attachment still waiting for the antivirus (clamd at HDH_CLAMAV_SOCKET)."

    def add_arguments(self, parser):
        parser.add_argument("--retry-errors", action="store_true",
                            help="scan again the attachments clamd refused to scan (e.g. after raising StreamMaxLength)")
        parser.add_argument("--include-unscanned", action="store_true",
                            help="quarantine and scan the attachments stored before the antivirus was configured")

    def handle(self, *args, retry_errors=False, include_unscanned=False, **options):
        if not settings.HDH_CLAMAV_SOCKET:
            raise CommandError("HDH_CLAMAV_SOCKET is not set: attachments are stored without an antivirus scan.")
        sweep = services.scan_pending(retry_errors=retry_errors, include_unscanned=include_unscanned)
        counts = sweep.counts
        self.stdout.write(f"clean {counts['clean']}, infected {counts['infected']}, error {counts['error']}; "
                          f"still pending: {counts['pending']}")
        if sweep.clamd_unavailable:
            raise CommandError(f"clamd unavailable, the sweep stopped: {sweep.clamd_unavailable}")
