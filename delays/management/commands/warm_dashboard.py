from typing import Any

from django.core.management.base import BaseCommand

from delays.dashboard import warm_cache
from hdh_access.db_router import replica_reads


class Command(BaseCommand):
    help = "Recompute the delay dashboard's figures into the cache (the periodic job, by hand)."

    def handle(self, *args: Any, **options: Any) -> None:
        with replica_reads():
            warm_cache()
        self.stdout.write("dashboard figures recomputed")
