"""Benchmark the back office on PostgreSQL; prints figures, asserts nothing.

    python benchmarks/bench_backoffice.py [--requests 100000] [--small 1000] [--repeat 10] [--reuse]

For each size (a small database and a large one, each freshly created as bench_delays.py does:
a realistic generated history written by access_requests.demo_history and imported by
access_requests.history_import, delay rows included), it times with Django's test Client, i.e.
the whole server side of a request (middleware, session, permissions, queries, template):

- the queue (``/backoffice/``) as a secretariat user and as a management user (every open
  request), page 1 and a filtered, searched page;
- a request's page (``/backoffice/requests/<reference>/``);
- the delay dashboard (``/backoffice/delays/``) as a management user: recomputed on every run
  (``?refresh=1``), then as served (figures kept in Django's cache for 10 minutes, so the first
  run computes and the next ones read), unfiltered and filtered by dataset and period, and its
  JSON download.

Figures: median and best of ``--repeat`` runs after a first run (also reported), and the number of
SQL queries. Also the dashboard's figures computed alone (``delays.dashboard.build_dashboard``, no
page, no cache): from the summary (``delays.summary``, what the unfiltered page does) and from the
rows (as filtered pages do), with the part of the data holders' figures (``delays.holders``).
Goal (issue #5): queue and dashboard under 200 ms at 100,000 requests. ``DEBUG`` is off.
``--reuse`` keeps an existing database of the right size instead of re-importing it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
AS_OF = "2025-12-31T23:59:59+00:00"


def timed(client, url: str, params: dict, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start = time.perf_counter()
    response = client.get(url, params)  # the first run: templates compiled, dashboard cache filled
    first = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url, params)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, params)
    return {"median_ms": statistics.median(times) * 1000, "best_ms": min(times) * 1000,
            "first_ms": first * 1000, "queries": len(ctx.captured_queries)}


def run_size(n: int, url: str, csv_path: str, repeat: int, reuse: bool) -> dict:
    """Import (unless reused) and time every page; runs in a child process."""
    sys.path.insert(0, str(HERE))
    from bench_import import setup_served_django

    setup_served_django(url)
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from access_requests.history_import import import_history
    from access_requests.models import AccessRequest
    from access_requests.workflow import Role
    from accounts.models import Profile
    from catalog.models import Dataset
    from delays.materialise import refresh_baseline
    from delays.models import RequestDelay

    figures: dict = {"requests": n}
    if not (reuse and AccessRequest.objects.count() == n):
        start = time.perf_counter()
        import_history(csv_path)
        refresh_baseline()
        figures["import_s"] = time.perf_counter() - start
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    figures["delay_rows"] = RequestDelay.objects.count()
    figures["open"] = RequestDelay.objects.filter(ended_at__isnull=True).count()

    def user(email: str, role: str) -> User:
        person, created = User.objects.get_or_create(username=email, defaults={"email": email})
        if created:
            Profile.objects.create(user=person)
            person.groups.add(Group.objects.get(name=role))
        return person

    secretariat = user("bench-secretariat@hdh.example", Role.SECRETARIAT)
    management = user("bench-management@hdh.example", Role.MANAGEMENT)
    snds = Dataset.objects.get(code="snds").pk
    reference = AccessRequest.objects.filter(state="cnil_review").order_by("pk").values_list(
        "reference", flat=True).first()
    secretariat_client, management_client = Client(), Client()
    secretariat_client.force_login(secretariat)
    management_client.force_login(management)
    pages = {
        "queue_secretariat": (secretariat_client, "/backoffice/", {}),
        "queue_management": (management_client, "/backoffice/", {}),
        "queue_management_page_20": (management_client, "/backoffice/", {"page": 20}),
        "queue_filtered_search": (management_client, "/backoffice/",
                                  {"q": "cancer", "dataset": snds, "submitted_from": "2024-01-01", "badge": "overdue"}),
        "request_page": (management_client, f"/backoffice/requests/{reference}/", {}),
        "dashboard_recomputed": (management_client, "/backoffice/delays/", {"refresh": "1"}),
        "dashboard": (management_client, "/backoffice/delays/", {}),
        "dashboard_filtered": (management_client, "/backoffice/delays/",
                               {"dataset": snds, "submitted_from": "2022-01-01", "submitted_to": "2024-12-31"}),
        "dashboard_json": (management_client, "/backoffice/delays.json", {}),
    }
    from backoffice.selectors import QueueFilters, queue

    figures["queue_rows_secretariat"] = queue(secretariat, QueueFilters()).count()
    figures["queue_rows_management"] = queue(management, QueueFilters()).count()
    for name, (client, url, params) in pages.items():
        figures[name] = timed(client, url, params, repeat)
    figures.update(_compute_times(repeat))
    return figures


def _compute_times(repeat: int) -> dict:
    """The unfiltered dashboard's figures computed without page or cache: from the summary, from
    the rows, and the data holders' figures alone (part of both)."""
    from bench_import import median_time
    from django.utils import timezone

    from delays import dashboard
    from delays.holders import holder_figures

    def median_ms(fn) -> float:
        return median_time(fn, repeat) * 1000

    out = {"compute_summary_ms": median_ms(lambda: dashboard.build_dashboard())}
    holders_ms = median_ms(lambda: holder_figures(timezone.now()))
    original = dashboard._from_summary
    dashboard._from_summary = lambda filters, now: False
    try:
        out["compute_rows_ms"] = median_ms(lambda: dashboard.build_dashboard())
    finally:
        dashboard._from_summary = original
    out["compute_holders_ms"] = holders_ms
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000, help="0 to skip the small database")
    parser.add_argument("--base-url", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="keep a database that already has the right size")
    parser.add_argument("--database-url", default=None,
                        help="the large database (the small one: its name + '_small'); default: "
                             "hdh_bench_backoffice and hdh_bench_backoffice_small under --base-url")
    parser.add_argument("--child", nargs=3, metavar=("N", "URL", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        n, url, csv_path = args.child
        figures = run_size(int(n), url, csv_path, args.repeat, args.reuse)
        print("FIGURES " + json.dumps(figures), flush=True)
        return 0

    sys.path[:0] = [str(HERE), str(ROOT)]
    from bench_delays import _ensure_database
    from bench_import import recreate_database

    from demo.history import write_csv

    large = args.database_url or args.base_url + "hdh_bench_backoffice"
    small = args.database_url + "_small" if args.database_url else args.base_url + "hdh_bench_backoffice_small"
    sizes = [(args.small, small)] if args.small else []
    sizes.append((args.requests, large))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, url in sizes:
            csv_path = Path(tmp) / f"history-{n}.csv"
            if not args.reuse:
                recreate_database(url)
            else:
                _ensure_database(url)
            write_csv(csv_path, n, 42, dt.datetime.fromisoformat(AS_OF))
            print(f"generated {n} requests; importing and timing...", flush=True)
            command = [sys.executable, __file__, "--repeat", str(args.repeat), "--child", str(n), url, str(csv_path)]
            if args.reuse:
                command.insert(2, "--reuse")
            out = subprocess.run(command, capture_output=True, text=True, check=False)
            line = next((x for x in out.stdout.splitlines() if x.startswith("FIGURES ")), None)
            if line is None:
                print(out.stdout, out.stderr, file=sys.stderr)
                return 1
            results.append(json.loads(line[len("FIGURES "):]))
            print(json.dumps(results[-1], indent=2), flush=True)

    print()
    print(f"{'median ms (queries)':34}" + "".join(f"{r['requests']:>18,}" for r in results))
    for key in ("queue_secretariat", "queue_management", "queue_management_page_20", "queue_filtered_search",
                "request_page", "dashboard_recomputed", "dashboard", "dashboard_filtered", "dashboard_json"):
        print(f"{key:34}" + "".join(f"{r[key]['median_ms']:>12.1f} ({r[key]['queries']:>2})" for r in results)
              + "   first run: " + ", ".join(f"{r[key]['first_ms']:.0f} ms" for r in results))
    for key, label in (("compute_summary_ms", "figures computed, from the summary"),
                       ("compute_rows_ms", "figures computed, from the rows"),
                       ("compute_holders_ms", "of which data holders' figures")):
        print(f"{label:34}" + "".join(f"{r[key]:>12.1f} ms  " for r in results))
    large = results[-1]
    print(f"dashboard figures without cache at {large['requests']:,}: {large['compute_summary_ms']:.1f} ms "
          f"from the summary (goal <= 50 ms), {large['compute_rows_ms']:.1f} ms from the rows")
    worst = max(large[k]["median_ms"] for k in ("queue_secretariat", "queue_management", "dashboard"))
    print(f"queue and dashboard at {large['requests']:,}: worst median {worst:.1f} ms (goal < 200 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
