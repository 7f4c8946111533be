from typing import Any

from django.core.management.base import BaseCommand

from access_requests.form_tokens import purge_form_submissions


class Command(BaseCommand):
    help = "Forget the one-time form tokens too old to be posted again (the nightly job, by hand)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = purge_form_submissions()
        self.stdout.write(f"{deleted} form token(s) purged")
