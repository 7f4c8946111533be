from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from access_requests.models import AccessRequest
from delays.materialise import materialise_requests, refresh_baseline, refresh_open_delays
from delays.summary import rebuild_summary


class Command(BaseCommand):
    help = "Recompute materialised delays: open requests (the nightly job), or --all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every request, not only open ones (and the dashboard's summary rebuilt)")

    def handle(self, *args: Any, all: bool = False, **options: Any) -> None:
        if all:
            refresh_baseline()
            count = materialise_requests(AccessRequest.objects.values_list("pk", flat=True), track_summary=False)
            refresh_baseline()
            rebuild_summary()
        else:
            count = refresh_open_delays()
        self.stdout.write(f"{count} delay rows recomputed")
