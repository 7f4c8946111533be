"""python manage.py seed_demo [--password PW] [--requests 300] [--force] [--if-empty]

Demo data: accounts for each role and about 300 requests submitted over 2022–2025 with
realistic durations (access_requests.demo_history), imported through the history import, so
running it again changes nothing. Demo accounts are created only when DEBUG is on or with
--force: they have a known password.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from access_requests import services
from access_requests.history_import import HistoryImportError, import_history
from access_requests.models import AccessRequest
from access_requests.workflow import Role
from accounts.models import Organisation, Profile
from catalog.models import DataHolder
from delays.materialise import refresh_open_delays
from demo.history import write_csv

DEFAULT_PASSWORD = "Demo-HDH-2026!"
DEMO_START = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
# email, role (group), data holder code, is applicant of the demo organisation
ACCOUNTS = [
    ("demandeur@example.org", None, None, True),
    ("secretariat@example.org", Role.SECRETARIAT, None, False),
    ("cesrees@example.org", Role.CESREES, None, False),
    ("cnil@example.org", Role.CNIL, None, False),
    ("cnam@example.org", Role.DATA_HOLDER, "cnam", False),
    ("plateforme@example.org", Role.PLATFORM, None, False),
    ("direction@example.org", Role.MANAGEMENT, None, False),
]


class Command(BaseCommand):
    help = "Load demo accounts and about 300 realistic requests (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", help=f"demo accounts' password (default: {DEFAULT_PASSWORD})")
        parser.add_argument("--requests", type=int, default=300)
        parser.add_argument("--force", action="store_true", help="create demo accounts even when DEBUG is off")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any request exists")

    def handle(self, *args, password=None, requests=300, force=False, if_empty=False, **options):
        if requests < 0:
            raise CommandError("--requests must be positive")
        if if_empty and AccessRequest.objects.exists():
            self.stdout.write("seed_demo: requests already present, nothing to do")
            return
        organisation, _ = Organisation.objects.get_or_create(name="Inserm — équipe de démonstration")
        applicant = None
        if settings.DEBUG or force:
            applicant = self._accounts(organisation, password)
        else:
            self.stdout.write("seed_demo: DEBUG is off, no demo accounts (use --force)")

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "demo.csv"
            write_csv(path, requests, seed=2022, as_of=timezone.now(), start=DEMO_START)
            try:
                result = import_history(path)
            except HistoryImportError as exc:  # the generator and the importer disagree: a bug
                raise CommandError(f"demo history refused by the import:\n{exc}") from exc
        with transaction.atomic():
            ids = list(AccessRequest.objects.filter(pk__in=result.request_ids).order_by("pk").values_list("pk", flat=True))
            attached = services.attach_to_organisation(request_ids=ids[::3], organisation=organisation, applicant=applicant)
        refresh_open_delays()
        self.stdout.write(
            f"seed_demo: {result.created} requests created, {result.extended} extended, "
            f"{result.unchanged} unchanged; {attached} attached to {organisation.name}"
        )

    def _accounts(self, organisation: Organisation, password: str | None) -> User:
        chosen = password or DEFAULT_PASSWORD
        applicant = None
        for email, role, holder, is_applicant in ACCOUNTS:
            user, created = User.objects.get_or_create(username=email, defaults={"email": email})
            if created or password:
                user.set_password(chosen)
                user.save(update_fields=["password"])
            Profile.objects.update_or_create(user=user, defaults={
                "organisation": organisation if is_applicant else None,
                "data_holder": DataHolder.objects.get(code=holder) if holder else None,
                # Management reads the Monday delay report.
                "weekly_report": role == Role.MANAGEMENT,
            })
            if role:
                user.groups.add(Group.objects.get(name=role))
            if is_applicant:
                applicant = user
        self.stdout.write(f"seed_demo: demo accounts ({', '.join(a[0] for a in ACCOUNTS)}) "
                          f"with password {chosen!r}")
        assert applicant is not None  # ACCOUNTS holds one applicant
        return applicant
