"""The server-side cost of each page of the load benchmark's mix, without a server or locust.

    python benchmarks/load/pages.py [--renders 50] [--reuse] [--profile PAGE] [--database-url URL]

Seeds a database as run.py does (300 requests, the personas' accounts and work; ``--reuse`` keeps
it), then renders each page of the mix ``--renders`` times through Django's test client as its
persona, with the production settings (``DEBUG`` off: the cached template loader, the manifest
static files, Redis as cache and session store), and prints per page the median wall time, the
median CPU time of this process and the queries. ``--profile PAGE`` prints a cProfile of that page's
renders (sorted by cumulative time) instead.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the load benchmark's seeding)

ROOT = run.ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=50)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/hdh_bench_pages")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded")
    parser.add_argument("--profile", default=None, help="a page's name: print its profile")
    parser.add_argument("--var", type=Path, default=ROOT / "var" / "pages")
    args = parser.parse_args(argv)
    args.var.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items()
           if name not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "DEBUG")}
    env.update(DATABASE_URL=args.database_url, SECRET_KEY=run.SECRET_KEY, ALLOWED_HOSTS="127.0.0.1,localhost",
               SITE_URL="http://127.0.0.1", PRIVATE_MEDIA_ROOT=str(args.var / "private"),
               STATIC_ROOT=str(args.var / "static"), DJANGO_SETTINGS_MODULE="hdh_access.settings",
               LOG_LEVEL="WARNING", EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
               DEBUG="false", HDH_INSECURE_HTTP="1", REDIS_URL=args.redis, CACHE_URL=args.redis,
               CELERY_TASK_ALWAYS_EAGER="true")
    marker = args.var / "seeded.json"
    reuse = args.reuse and marker.exists()
    if not reuse:
        run.recreate_postgres(args.database_url)
    run.setup_django(env)
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    assert not settings.DEBUG
    loaders = settings.TEMPLATES[0]["OPTIONS"].get("loaders") or []
    print(f"DEBUG {settings.DEBUG}; template loaders {loaders or 'default (cached when DEBUG is off)'}")
    seeding = argparse.Namespace(users=50, duration=60, requests=300)
    run.seed(seeding, args.var / "accounts.json", reuse=reuse)
    marker.write_text("{}", encoding="utf-8")

    from access_requests.models import AccessRequest

    def client(persona: str) -> Client:
        browser = Client(HTTP_HOST="127.0.0.1")
        browser.force_login(User.objects.get(username=f"charge-{persona}-000@bench.example"))
        return browser

    applicant = client("applicant")
    mine = AccessRequest.objects.filter(organisation__members__user__username="charge-applicant-000@bench.example")
    own = mine.exclude(state="draft").order_by("pk").first() or mine.order_by("pk").first()
    submitted = AccessRequest.objects.filter(reference__startswith="LOAD-S-").order_by("pk").first()
    cesrees = AccessRequest.objects.filter(reference__startswith="LOAD-C-").order_by("pk").first()
    pages = [
        ("portal: my requests", applicant, "/portal/"),
        ("portal: a request's page", applicant, f"/portal/requests/{own.reference}/"),
        ("portal: new draft form", applicant, "/portal/new/"),
        ("backoffice: queue (secretariat)", client("secretariat"), "/backoffice/"),
        ("backoffice: queue (submitted)", client("secretariat"), "/backoffice/?state=submitted"),
        ("backoffice: a request's page (secretariat)", client("secretariat"),
         f"/backoffice/requests/{submitted.reference}/"),
        ("backoffice: queue (cesrees_review)", client("cesrees"), "/backoffice/?state=cesrees_review"),
        ("backoffice: a request's page (cesrees)", client("cesrees"), f"/backoffice/requests/{cesrees.reference}/"),
        ("backoffice: queue (platform)", client("platform"), "/backoffice/"),
        ("backoffice: holder tasks", client("holder"), "/backoffice/"),
        ("backoffice: delay dashboard", client("management"), "/backoffice/delays/"),
        ("backoffice: delay dashboard (a year)", client("management"),
         "/backoffice/delays/?submitted_from=2023-01-01&submitted_to=2023-12-31"),
        ("backoffice: queue (management)", client("management"), "/backoffice/"),
    ]
    if args.profile:
        pages = [page for page in pages if page[0] == args.profile]
        if not pages:
            raise SystemExit(f"no page named {args.profile!r}")
    print(f"{'page':<46} {'status':>6} {'wall p50':>9} {'CPU p50':>8} {'queries':>7} {'calls':>7} {'KiB':>5}")
    for name, browser, url in pages:
        for _ in range(3):  # warm: the template cache, the Redis cache, the connection
            response = browser.get(url)
        walls, cpus = [], []
        profile = cProfile.Profile() if args.profile else None
        for _ in range(args.renders):
            started, cpu = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            response = browser.get(url)
            if profile:
                profile.disable()
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        with CaptureQueriesContext(connection) as queries:
            browser.get(url)
        captured = queries.captured_queries  # read now: the next request clears the connection's log
        counted = cProfile.Profile()
        counted.runcall(browser.get, url)
        calls = pstats.Stats(counted).total_calls
        print(f"{name:<46} {response.status_code:>6} {statistics.median(walls) * 1000:>7.1f}ms "
              f"{statistics.median(cpus) * 1000:>6.1f}ms {len(captured):>7} {calls:>7} "
              f"{len(response.content) // 1024:>5}")
        if profile:
            if os.environ.get("PROFILE_OUT"):
                profile.dump_stats(os.environ["PROFILE_OUT"])
            pstats.Stats(profile).sort_stats("cumulative").print_stats(60)
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
            for query in captured:
                print(query["time"], query["sql"][:int(os.environ.get("SQL_WIDTH", "300"))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
