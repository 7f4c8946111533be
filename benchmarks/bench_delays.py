"""Benchmark the delay engine on PostgreSQL; prints figures, asserts nothing.

    python benchmarks/bench_delays.py [--requests 100000] [--small 1000]

For each size (a small database and a large one, each freshly created), in one run:
1. import a realistic generated history (benchmarks/generate_history.py);
2. full re-materialisation of every request's delay row (`refresh_delays --all`);
3. `delay_report --format json` (build + serialise), best and median of several runs, side by
   side with the analyst's pandas script (benchmarks/analyst_pandas.py: ``load`` and ``report``
   over the same history file), the two run in turn so that both see the same machine; the
   ratio, and whether their figures agree (stage counts, means and medians, the headline);
4. a hand-written single SQL query computing the same per-stage statistics straight from the
   events table (window functions), best and median of several runs, and a check that it
   gives the same figures as the report;
5. the recompute after one transition: a service call (information request, then answer)
   with its delay recompute, and the recompute alone, on sample open requests.
Goals (issue #3): report within 2x of the SQL query and under 2 s; recompute as fast at the
large size as at the small one (within 1.5x). Issue #16: the report in at most half the pandas
script's time at 100,000 requests.

``--reuse`` keeps a database that already holds the right number of requests (no import).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
AS_OF = "2025-12-31T23:59:59+00:00"

STAGE_SQL = """
WITH transitions AS (
    SELECT request_id, to_state, at,
           lead(at) OVER (PARTITION BY request_id ORDER BY at, id) AS next_at
    FROM access_requests_event
    WHERE from_state <> to_state AND at <= %(as_of)s
),
bounds AS (
    SELECT t.request_id,
           min(t.at) FILTER (WHERE t.to_state = 'submitted') AS submitted_at,
           min(t.at) FILTER (WHERE t.to_state = 'delivered') AS delivered_at
    FROM transitions t
    JOIN access_requests_accessrequest r ON r.id = t.request_id AND r.requires_matching
    GROUP BY t.request_id
),
per_request AS (
    SELECT t.request_id, t.to_state AS stage,
           sum(extract(epoch FROM (t.next_at - t.at))) / 86400.0 AS days
    FROM transitions t
    JOIN bounds b ON b.request_id = t.request_id
    WHERE b.delivered_at IS NOT NULL
      AND t.at >= b.submitted_at AND t.at < b.delivered_at
      AND t.to_state IN ('submitted', 'cesrees_review', 'cnil_review', 'contracting',
                         'matching', 'extraction', 'awaiting_applicant')
    GROUP BY t.request_id, t.to_state
)
SELECT stage, count(*) FILTER (WHERE days > 0),
       avg(days) FILTER (WHERE days > 0),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FILTER (WHERE days > 0),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days) FILTER (WHERE days > 0)
FROM per_request GROUP BY stage
"""


def timed(fn, repeat: int = 1) -> tuple[float, float, object]:
    """(best, median) seconds over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def _agreement(report: dict, pandas_figures: dict) -> dict:
    """Which figures the delay report and the pandas script agree on (to 1e-3 days)."""
    def same(a, b) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-3)

    checks = {}
    for stage, figures in report["stages"].items():
        theirs = pandas_figures["stages"][stage]
        checks[f"{stage}.count"] = figures["count"] == theirs["count"]
        checks[f"{stage}.mean"] = same(figures["mean_days"], theirs["mean_days"])
        checks[f"{stage}.median"] = same(figures["median_days"], theirs["median_days"])
    for key in ("delivered", "met", "late", "bottleneck_stage"):
        checks[f"summary.{key}"] = report["summary"][key] == pandas_figures["summary"][key]
    for key in ("median_institution_days", "p90_institution_days", "mean_access_days", "median_access_days"):
        checks[f"summary.{key}"] = same(report["summary"][key], pandas_figures["summary"][key])
    return checks


def run_size(n: int, url: str, csv_path: Path, repeat: int, reuse: bool = False) -> dict:
    """Run every phase on a fresh database of ``n`` requests; runs in a child process."""
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)  # tasks in-process: the recompute is measured inline
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdh_access.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection

    from access_requests import services
    from access_requests.history_import import import_history
    from access_requests.models import AccessRequest, Event
    from access_requests.workflow import PAUSABLE_STATES
    from delays.materialise import materialise_request, materialise_requests, refresh_baseline
    from delays.models import RequestDelay
    from delays.report import build_report
    from delays.summary import rebuild_summary

    call_command("migrate", verbosity=0)
    figures: dict = {"requests": n}
    if reuse and AccessRequest.objects.count() == n:
        figures["import_s"] = float("nan")  # reused
    else:
        start = time.perf_counter()
        import_history(csv_path)
        figures["import_s"] = time.perf_counter() - start
    figures["events"] = Event.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    ids = list(AccessRequest.objects.values_list("pk", flat=True))
    start = time.perf_counter()
    # As `refresh_delays --all` does: every row, then the dashboard's summary rebuilt at once.
    refresh_baseline()
    materialise_requests(ids, track_summary=False)
    refresh_baseline()
    rebuild_summary()
    figures["rematerialise_s"] = time.perf_counter() - start
    figures["delay_rows"] = RequestDelay.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    # The report and the pandas script in turn, on the same history (median of ``repeat`` each).
    import analyst_pandas

    as_of = dt.datetime.fromisoformat(AS_OF)
    report_times, pandas_times = [], []
    report = pandas_figures = None
    for _ in range(repeat):
        start = time.perf_counter()
        report = json.dumps(build_report(as_of))
        report_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        pandas_figures = analyst_pandas.report(analyst_pandas.load(str(csv_path)), AS_OF)
        pandas_times.append(time.perf_counter() - start)
    figures["report_best_s"], figures["report_median_s"] = min(report_times), statistics.median(report_times)
    figures["pandas_best_s"], figures["pandas_median_s"] = min(pandas_times), statistics.median(pandas_times)
    checks = _agreement(json.loads(report), pandas_figures)
    figures["pandas_agrees"] = all(checks.values())
    figures["pandas_disagrees_on"] = [name for name, ok in checks.items() if not ok]

    def sql_query():
        with connection.cursor() as cursor:
            cursor.execute(STAGE_SQL, {"as_of": as_of})
            return cursor.fetchall()

    best, median, rows = timed(sql_query, repeat)
    figures["sql_best_s"], figures["sql_median_s"] = best, median
    stages = json.loads(report)["stages"]  # type: ignore[arg-type]
    figures["sql_agrees"] = all(
        stages[stage]["count"] == count and abs(stages[stage]["median_days"] - median_days) < 1e-3
        for stage, count, _mean, median_days, _p90 in rows
    ) and len(rows) == sum(1 for s in stages.values() if s["count"])

    admin = (User.objects.filter(username="bench@example.org").first()  # a reused database has it
             or User.objects.create_superuser("bench@example.org", "bench@example.org", "x"))
    sample = list(
        AccessRequest.objects.filter(state__in=PAUSABLE_STATES).order_by("pk").values_list("pk", flat=True)[:40]
    )
    service_times, recompute_times = [], []
    for pk in sample:
        t0 = time.perf_counter()
        services.request_information(request_id=pk, actor=admin, question="Benchmark question")
        services.answer_information(request_id=pk, actor=admin, answer="Benchmark answer")
        service_times.append((time.perf_counter() - t0) / 2)
        t0 = time.perf_counter()
        materialise_request(pk)
        recompute_times.append(time.perf_counter() - t0)
    figures["transition_with_recompute_ms"] = statistics.median(service_times) * 1000
    figures["recompute_ms"] = statistics.median(recompute_times) * 1000
    figures["sample"] = len(sample)
    return figures


def _ensure_database(url: str) -> None:
    """Create the database named in ``url`` when it does not exist (``--reuse``)."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    connection = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--base-url", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument("--database-url", default=None,
                        help="the large database (the small one: its name + '_small'); "
                             "default: hdh_bench_large and hdh_bench_small under --base-url")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep a database that already has the right size")
    parser.add_argument("--child", nargs=3, metavar=("N", "URL", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        n, url, csv_path = args.child
        sys.path.insert(0, str(HERE))
        figures = run_size(int(n), url, Path(csv_path), args.repeat, args.reuse)
        print("FIGURES " + json.dumps(figures), flush=True)
        return 0

    sys.path[:0] = [str(HERE), str(ROOT)]
    from bench_import import recreate_database

    from demo.history import write_csv

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            urls = (args.database_url + "_small", args.database_url)
        else:
            urls = (args.base_url + "hdh_bench_small", args.base_url + "hdh_bench_large")
        for n, url in zip((args.small, args.requests), urls, strict=True):
            if not args.reuse:
                recreate_database(url)
            else:
                _ensure_database(url)
            csv_path = Path(tmp) / f"history-{n}.csv"
            rows = write_csv(csv_path, n, 42, dt.datetime.fromisoformat(AS_OF))
            print(f"generated {n} requests, {rows} rows", flush=True)
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

    small, large = results
    print()
    print(f"{'':38} {small['requests']:>12,} {large['requests']:>12,}")
    for key, label in [
        ("events", "events imported"),
        ("import_s", "import (s)"),
        ("rematerialise_s", "full re-materialisation (s)"),
        ("report_median_s", "delay_report --format json (s, median)"),
        ("pandas_median_s", "pandas script, load + report (s, median)"),
        ("sql_median_s", "hand-written SQL on events (s, median)"),
        ("transition_with_recompute_ms", "transition + recompute (ms, median)"),
        ("recompute_ms", "recompute alone (ms, median)"),
    ]:
        print(f"{label:38} {small[key]:>12.3f} {large[key]:>12.3f}")
    print(f"report / SQL at {large['requests']:,}: {large['report_median_s'] / large['sql_median_s']:.2f}x "
          f"(goal <= 2x), report {large['report_median_s']:.3f} s (goal < 2 s); SQL agrees: {large['sql_agrees']}")
    print(f"report / pandas script at {large['requests']:,}: "
          f"{large['report_median_s'] / large['pandas_median_s']:.2f}x (goal <= 0.5x); pandas agrees: "
          f"{large['pandas_agrees']}" + (f" (not on {', '.join(large['pandas_disagrees_on'])})"
                                         if large["pandas_disagrees_on"] else ""))
    print(f"recompute large / small: {large['recompute_ms'] / small['recompute_ms']:.2f}x (goal <= 1.5x); "
          f"transition large / small: "
          f"{large['transition_with_recompute_ms'] / small['transition_with_recompute_ms']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
