from django.core.management.base import BaseCommand

from access_requests.models import AccessRequest
from delays.materialise import materialise_requests, refresh_baseline, refresh_open_delays


class Command(BaseCommand):
    help = "Recompute materialised delays: open requests (the nightly job), or --all."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="every request, not only open ones")

    def handle(self, *args, all=False, **options):
        if all:
            refresh_baseline()
            count = materialise_requests(AccessRequest.objects.values_list("pk", flat=True))
            refresh_baseline()
        else:
            count = refresh_open_delays()
        self.stdout.write(f"{count} delay rows recomputed")
