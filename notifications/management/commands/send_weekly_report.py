"""python manage.py send_weekly_report [--dry-run] [--to ADDRESS] [--as-of DATE]

What the Monday 08:00 beat job does: the weekly delay report to every subscriber (or only to
``--to`` addresses), at most once per recipient and ISO week, then sent at once.
``--dry-run`` prints the subject and the text version and writes and sends nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from hdh_access.lib.cli import parse_as_of
from notifications import outbox, weekly_report


class Command(BaseCommand):
    help = "Send the weekly delay report (subscribers, or --to); --dry-run prints it and sends nothing."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print the subject and text; send nothing")
        parser.add_argument("--to", action="append", default=[], metavar="ADDRESS",
                            help="send to this address instead of the subscribers (repeatable)")
        parser.add_argument("--as-of", dest="as_of", help="date (00:00 Paris) or date-time; default: now")

    def handle(self, *args, dry_run=False, to=(), as_of=None, **options):
        for address in to:
            try:
                validate_email(address)
            except ValidationError:
                raise CommandError(f"--to: {address!r} is not an email address") from None
        instant = parse_as_of(as_of)
        if dry_run:
            self._dry_run(instant, list(to))
            return
        result = weekly_report.queue_weekly_reports(as_of=instant, to=list(to) or None)
        self.stdout.write(f"Week {result.week}: {len(result.created)} report(s) queued, "
                          f"{result.already} already queued earlier (not sent again).")
        if result.created:
            outcomes = outbox.send_pending()
            mine = {row.pk for row in result.created}
            sent = sum(1 for pk, o in outcomes.items() if pk in mine and o.status == outbox.SENT)
            self.stdout.write(f"{sent} sent now; the rest is retried by the outbox sweep.")

    def _dry_run(self, instant, to: list[str]) -> None:
        recipients = weekly_report.recipients_of(to or None)
        languages = sorted({language for _address, language in recipients}) or [settings.LANGUAGE_CODE]
        rendered = weekly_report.preview(as_of=instant, languages=languages)
        self.stdout.write(f"Dry run, week {weekly_report.iso_week(instant)}: nothing is written or sent.")
        for language in languages:
            addresses = [a for a, lang in recipients if lang == language]
            self.stdout.write("")
            self.stdout.write(f"To: {', '.join(addresses) or '(no subscriber)'} [{language}]")
            self.stdout.write(f"Subject: {rendered[language].subject}")
            self.stdout.write("")
            self.stdout.write(rendered[language].text)
