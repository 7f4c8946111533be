"""How the costs grow with the number of requests; prints figures, asserts nothing.

    python benchmarks/bench_growth.py [--sizes 1000,10000,100000,1000000] [--repeat 5]

For each size, on a fresh PostgreSQL database (``hdh_bench_growth_<size>``, dropped and
recreated; never the application's), with a realistic generated history (demo.history):

- the import of the history file (``import_history``, delay rows included);
- ``delay_report`` (``build_report`` serialised to JSON, as of 2025-12-31; median of ``--repeat``);
- the recompute after one transition (an information request and its answer through the
  services, then the request's delay recompute alone; medians over 20 open requests);
- the back-office queue page as the secretariat (Django's test client: the whole server side);
- the delay dashboard with its figures computed on the view (``?refresh=1``, no cache).

Then a table, one column per size, and for each row the growth exponent ``k`` in
``time ∝ size^k`` (least squares over log-log points): 1 is linear, 0 is constant.
``DEBUG`` is off; tasks run in-process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
AS_OF = "2025-12-31T23:59:59+00:00"
ROWS = (
    ("import_s", "import (s)"),
    ("report_ms", "delay_report JSON (ms)"),
    ("transition_ms", "transition + recompute (ms)"),
    ("recompute_ms", "recompute alone (ms)"),
    ("queue_ms", "queue page, secretariat (ms)"),
    ("dashboard_ms", "dashboard, no cache (ms)"),
)


def run_size(n: int, url: str, csv_path: str, repeat: int) -> dict:
    """Import and time every phase on one database; runs in a child process."""
    sys.path.insert(0, str(HERE))
    from bench_import import median_time, setup_served_django

    setup_served_django(url, HDH_DASHBOARD_CACHE_SECONDS="0")
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from access_requests import services
    from access_requests.history_import import import_history
    from access_requests.models import AccessRequest
    from access_requests.workflow import PAUSABLE_STATES, Role
    from accounts.models import Profile
    from delays.materialise import materialise_request, refresh_baseline
    from delays.report import build_report

    figures: dict = {"requests": n}
    start = time.perf_counter()
    import_history(csv_path)
    figures["import_s"] = time.perf_counter() - start
    refresh_baseline()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    as_of = dt.datetime.fromisoformat(AS_OF)
    figures["report_ms"] = median_time(lambda: json.dumps(build_report(as_of)), repeat) * 1000

    admin = User.objects.create_superuser("bench@example.org", "bench@example.org", "x")
    sample = list(AccessRequest.objects.filter(state__in=PAUSABLE_STATES).order_by("pk")
                  .values_list("pk", flat=True)[:20])
    transitions, recomputes = [], []
    for pk in sample:
        start = time.perf_counter()
        services.request_information(request_id=pk, actor=admin, question="Benchmark question")
        services.answer_information(request_id=pk, actor=admin, answer="Benchmark answer")
        transitions.append((time.perf_counter() - start) / 2)
        start = time.perf_counter()
        materialise_request(pk)
        recomputes.append(time.perf_counter() - start)
    figures["transition_ms"] = statistics.median(transitions) * 1000
    figures["recompute_ms"] = statistics.median(recomputes) * 1000

    def user(email: str, role: str) -> User:
        person = User.objects.create_user(username=email, email=email)
        Profile.objects.create(user=person)
        person.groups.add(Group.objects.get(name=role))
        return person

    secretariat, management = Client(), Client()
    secretariat.force_login(user("bench-secretariat@hdh.example", Role.SECRETARIAT))
    management.force_login(user("bench-management@hdh.example", Role.MANAGEMENT))

    def page(client: Client, url: str, params: dict):
        def get():
            response = client.get(url, params)
            assert response.status_code == 200, (url, response.status_code)
        return get

    figures["queue_ms"] = median_time(page(secretariat, "/backoffice/", {}), repeat) * 1000
    figures["dashboard_ms"] = median_time(page(management, "/backoffice/delays/", {"refresh": "1"}), repeat) * 1000
    return figures


def exponent(sizes: list[int], values: list[float]) -> float | None:
    """Least-squares slope of log(value) over log(size)."""
    points = [(math.log(s), math.log(v)) for s, v in zip(sizes, values, strict=True) if v > 0]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--base-url", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=3, metavar=("N", "URL", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        n, url, csv_path = args.child
        print("FIGURES " + json.dumps(run_size(int(n), url, csv_path, args.repeat)), flush=True)
        return 0

    sys.path[:0] = [str(HERE), str(ROOT)]
    from bench_import import recreate_database

    from demo.history import write_csv

    sizes = [int(size) for size in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            url = f"{args.base_url}hdh_bench_growth_{n}"
            recreate_database(url)
            csv_path = Path(tmp) / f"history-{n}.csv"
            write_csv(csv_path, n, 42, dt.datetime.fromisoformat(AS_OF))
            print(f"{n:,} requests generated; importing and timing...", flush=True)
            out = subprocess.run([sys.executable, __file__, "--repeat", str(args.repeat),
                                  "--child", str(n), url, str(csv_path)], capture_output=True, text=True, check=False)
            line = next((x for x in out.stdout.splitlines() if x.startswith("FIGURES ")), None)
            if line is None:
                print(out.stdout, out.stderr, file=sys.stderr)
                return 1
            results.append(json.loads(line[len("FIGURES "):]))
            print(json.dumps(results[-1]), flush=True)
            csv_path.unlink()

    print()
    print(f"{'':32}" + "".join(f"{r['requests']:>12,}" for r in results) + "    exponent")
    for key, label in ROWS:
        values = [r[key] for r in results]
        k = exponent([r["requests"] for r in results], values)
        print(f"{label:32}" + "".join(f"{v:>12.2f}" for v in values) + (f"    {k:.2f}" if k is not None else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
