"""Benchmark the public directory on PostgreSQL; prints figures, asserts nothing.

    python benchmarks/bench_directory.py [--requests 15000] [--repeat 10] [--reuse]

Imports a realistic generated history (demo/history.py, as bench_backoffice.py does) into its
own database, then times with Django's test Client (the whole server side: middleware, query,
template), anonymous, ``DEBUG`` off:

- the list (``/projets/``), its 20th page, a full-text search, a filtered search and each sort;
- a project's page; the Atom feed; the CSV and JSON exports of every public project;
- the roadmap's indicators (``/indicateurs/``): its first run computes the figures (the delay
  report and one headline per quarter end), the next ones read them from the cache.

Figures: median and best of ``--repeat`` runs after a first one, and the number of SQL queries.
Goal (issue #18): fast at 10,000 projects, one query per page (plus the count), indexed search.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
AS_OF = "2025-12-31T23:59:59+00:00"
PAGES = ("list", "list_page_20", "search", "search_filtered", "sort_title", "sort_authorised", "project",
         "feed", "csv", "json", "indicators")


def run(n: int, url: str, csv_path: str, repeat: int, reuse: bool) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_backoffice import timed
    from bench_import import setup_served_django

    setup_served_django(url)
    from django.db import connection
    from django.test import Client

    from access_requests.history_import import import_history
    from access_requests.models import AccessRequest
    from access_requests.selectors.public import public_projects
    from delays.materialise import refresh_baseline

    if not (reuse and AccessRequest.objects.count() == n):
        import_history(csv_path)
        refresh_baseline()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    projects = list(public_projects().values_list("reference", flat=True))
    client = Client()
    word = AccessRequest.objects.filter(reference__in=projects[:1]).values_list("title", flat=True).first().split()[0]
    pages = {
        "list": ("/projets/", {}),
        "list_page_20": ("/projets/", {"page": 20}),
        "search": ("/projets/", {"q": word}),
        "search_filtered": ("/projets/", {"q": word, "dataset": "snds", "state": "delivered"}),
        "sort_title": ("/projets/", {"sort": "title"}),
        "sort_authorised": ("/projets/", {"sort": "-authorised"}),
        "project": (f"/projets/{projects[len(projects) // 2]}/", {}),
        "feed": ("/projets/flux.atom", {}),
        "csv": ("/projets.csv", {}),
        "json": ("/projets.json", {}),
        # The roadmap's indicators: the first run computes them, the next read the cache.
        "indicators": ("/indicateurs/", {}),
    }
    figures: dict = {"requests": n, "projects": len(projects), "search_word": word}
    for name, (path, params) in pages.items():
        figures[name] = timed(client, path, params, repeat)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=15_000, help="imported requests (about 70 %% become public)")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="keep a database that already has the right size")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/hdh_bench_directory")
    parser.add_argument("--child", nargs=3, metavar=("N", "URL", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        n, url, csv_path = args.child
        print("FIGURES " + json.dumps(run(int(n), url, csv_path, args.repeat, args.reuse)), flush=True)
        return 0

    sys.path[:0] = [str(HERE), str(ROOT)]
    from bench_delays import _ensure_database
    from bench_import import recreate_database

    from demo.history import write_csv

    (_ensure_database if args.reuse else recreate_database)(args.database_url)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "history.csv"
        write_csv(csv_path, args.requests, 42, dt.datetime.fromisoformat(AS_OF))
        print(f"generated {args.requests} requests; importing and timing...", flush=True)
        command = [sys.executable, __file__, "--repeat", str(args.repeat), "--child", str(args.requests),
                   args.database_url, str(csv_path)]
        if args.reuse:
            command.insert(2, "--reuse")
        out = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("FIGURES ")), None)
    if line is None:
        print(out.stdout, out.stderr, file=sys.stderr)
        return 1
    figures = json.loads(line[len("FIGURES "):])
    print(f"{figures['requests']:,} requests, {figures['projects']:,} public projects "
          f"(search word: {figures['search_word']!r})")
    print(f"{'page':18}{'median ms':>10}{'best ms':>9}{'first ms':>10}{'queries':>9}")
    for key in PAGES:
        f = figures[key]
        print(f"{key:18}{f['median_ms']:>10.1f}{f['best_ms']:>9.1f}{f['first_ms']:>10.1f}{f['queries']:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
