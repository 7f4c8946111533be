"""Benchmark the delay engine on PostgreSQL; prints figures, asserts nothing.

    python benchmarks/bench_delays.py [--requests 100000] [--small 1000]

For each size (a small database and a large one, each freshly created), in one run:
1. import a realistic generated history (benchmarks/generate_history.py);
2. full re-materialisation of every request's delay row (`refresh_delays --all`);
3. `delay_report --format json` (build + serialise), best and median of several runs;
4. a hand-written single SQL query computing the same per-stage statistics straight from the
   events table (window functions), best and median of several runs, and a check that it
   gives the same figures as the report;
5. the recompute after one transition: a service call (information request, then answer)
   with its delay recompute, and the recompute alone, on sample open requests.
Goals (issue #3): report within 2x of the SQL query and under 2 s; recompute as fast at the
large size as at the small one (within 1.5x).
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


def run_size(n: int, url: str, csv_path: Path, repeat: int) -> dict:
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
    from access_requests.models import AccessRequest
    from access_requests.workflow import PAUSABLE_STATES
    from delays.materialise import materialise_request, materialise_requests, refresh_baseline
    from delays.models import RequestDelay
    from delays.report import build_report

    call_command("migrate", verbosity=0)
    figures: dict = {"requests": n}
    start = time.perf_counter()
    result = import_history(csv_path)
    figures["import_s"] = time.perf_counter() - start
    figures["events"] = result.events_written
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    ids = list(AccessRequest.objects.values_list("pk", flat=True))
    start = time.perf_counter()
    refresh_baseline()
    materialise_requests(ids)
    refresh_baseline()
    figures["rematerialise_s"] = time.perf_counter() - start
    figures["delay_rows"] = RequestDelay.objects.count()

    as_of = dt.datetime.fromisoformat(AS_OF)
    best, median, report = timed(lambda: json.dumps(build_report(as_of)), repeat)
    figures["report_best_s"], figures["report_median_s"] = best, median

    def sql_query():
        with connection.cursor() as cursor:
            cursor.execute(STAGE_SQL, {"as_of": as_of})
            return cursor.fetchall()

    best, median, rows = timed(sql_query, repeat)
    figures["sql_best_s"], figures["sql_median_s"] = best, median
    stages = json.loads(report)["stages"]
    figures["sql_agrees"] = all(
        stages[stage]["count"] == count and abs(stages[stage]["median_days"] - median_days) < 1e-3
        for stage, count, _mean, median_days, _p90 in rows
    ) and len(rows) == sum(1 for s in stages.values() if s["count"])

    admin = User.objects.create_superuser("bench@example.org", "bench@example.org", "x")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--base-url", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=3, metavar=("N", "URL", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        n, url, csv_path = args.child
        print("FIGURES " + json.dumps(run_size(int(n), url, Path(csv_path), args.repeat)), flush=True)
        return 0

    sys.path[:0] = [str(HERE), str(ROOT)]
    from bench_import import recreate_database

    from demo.history import write_csv

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, name in ((args.small, "hdh_bench_small"), (args.requests, "hdh_bench_large")):
            url = args.base_url + name
            recreate_database(url)
            csv_path = Path(tmp) / f"history-{n}.csv"
            rows = write_csv(csv_path, n, 42, dt.datetime.fromisoformat(AS_OF))
            print(f"generated {n} requests, {rows} rows", flush=True)
            out = subprocess.run(
                [sys.executable, __file__, "--repeat", str(args.repeat), "--child", str(n), url, str(csv_path)],
                capture_output=True, text=True, check=False,
            )
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
        ("sql_median_s", "hand-written SQL on events (s, median)"),
        ("transition_with_recompute_ms", "transition + recompute (ms, median)"),
        ("recompute_ms", "recompute alone (ms, median)"),
    ]:
        print(f"{label:38} {small[key]:>12.3f} {large[key]:>12.3f}")
    print(f"report / SQL at {large['requests']:,}: {large['report_median_s'] / large['sql_median_s']:.2f}x "
          f"(goal <= 2x), report {large['report_median_s']:.3f} s (goal < 2 s); SQL agrees: {large['sql_agrees']}")
    print(f"recompute large / small: {large['recompute_ms'] / small['recompute_ms']:.2f}x (goal <= 1.5x); "
          f"transition large / small: "
          f"{large['transition_with_recompute_ms'] / small['transition_with_recompute_ms']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
