"""python manage.py create_api_token EMAIL --scope read|write [--name NAME] [--days N]

Prints a new API token for the account with that email (docs/api.md). The token is shown once:
only its SHA-256 is stored. Its owner sees and revokes it on their profile page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.models import ApiScope
from hdh_access.lib.errors import DomainError


class Command(BaseCommand):
    help = "Create an API token for the account with this email and print it (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--scope", required=True, choices=ApiScope.values)
        parser.add_argument("--name", default="", help="default: 'manage.py create_api_token'")
        parser.add_argument("--days", type=int, default=90, help="validity in days (1 to 365; default 90)")

    def handle(self, *args: Any, email: str, scope: str, name: str, days: int, **options: Any) -> None:
        user = get_user_model().objects.filter(email__iexact=email.strip()).order_by("pk").first()
        if user is None:
            raise CommandError(f"no account with the email {email!r}")
        try:
            # The command is run by the operator: the account acts for itself.
            token, raw = services.create_api_token(actor=user, name=name or "manage.py create_api_token",
                                                   scope=scope, days=days)
        except DomainError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(f"token {token.prefix} for {user.email}, scope {token.scope}, "
                          f"expires {token.expires_at.isoformat()}")
        self.stdout.write(raw)
