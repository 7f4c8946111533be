"""python manage.py purge_unconfirmed_accounts [--as-of DATE]: what the daily beat job does."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts import services
from hdh_access.lib.cli import parse_as_of


class Command(BaseCommand):
    help = ("Delete the accounts whose address was not confirmed within HDH_UNCONFIRMED_ACCOUNT_DAYS days, and "
            "the organisations sign-up created that are left empty. Accounts with a request or a note are kept.")

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="date (00:00 Paris) or date-time; default: now")

    def handle(self, *args, as_of=None, **options):
        outcome = services.purge_unconfirmed_accounts(now=parse_as_of(as_of))
        self.stdout.write(
            f"{outcome.users} account(s) unconfirmed after {settings.HDH_UNCONFIRMED_ACCOUNT_DAYS} days deleted, "
            f"{outcome.organisations} empty organisation(s) deleted, {outcome.kept} kept (something is attached).")
