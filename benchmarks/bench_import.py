"""Benchmark the history import on a fresh PostgreSQL database; prints figures, asserts nothing.

    python benchmarks/bench_import.py [--requests 100000] [--database-url postgres://postgres@127.0.0.1:5432/hdh_bench]

Drops and recreates the benchmark database (never the application's), migrates it, generates a
realistic history (benchmarks/generate_history.py) to a temporary CSV, times the analyst's pandas
load of that file (benchmarks/analyst_pandas.py, in a separate process so that its memory does not
count here), imports it, then imports the same file again (the idempotent run, which must change
nothing), and prints wall-clock times, the ratio import / pandas, the split of the import (COPY to
the staging table, validation, writes, delay materialisation), rows per second and the peak
resident memory of the process and of its workers. DEBUG is off unless set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/hdh_bench"


def recreate_database(url: str) -> None:
    """Drop and create the database named in ``url``, through the ``postgres`` maintenance db."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to drop database {name!r}")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    connection = psycopg2.connect(maintenance)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def setup_served_django(url: str, **environment: str) -> None:
    """In a benchmark's child process: Django on ``url`` as it is served (``DEBUG`` off, tasks
    in-process), migrated, its static files collected (pages link their hashed names)."""
    os.environ.update({"DATABASE_URL": url, "DEBUG": "false", "SECRET_KEY": "benchmark-only-" + "x" * 40,
                       "SECURE_SSL_REDIRECT": "false", "ALLOWED_HOSTS": "testserver", **environment})
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdh_access.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)


def median_time(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` runs after one warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def reset_peak_rss() -> None:
    """Start the peak resident memory (VmHWM) afresh, so that the migration and the generation
    done by this script before the import do not count (Linux: /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as out:
            out.write("5")
    except OSError:
        pass


def import_peak_rss_mb() -> float:
    """The peak resident memory since ``reset_peak_rss`` (VmHWM), else since the start."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process of this machine (the PostgreSQL backend), 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_peak_rss_mb() -> float:
    """The largest peak of the processes this one waited for (the materialisation's workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def pandas_load_seconds(csv_path: str) -> float:
    """The analyst's pandas load of ``csv_path``, in a process of its own (the best of two runs)."""
    times = []
    for _run in range(2):
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "analyst_pandas.py"), csv_path],
                             check=True, capture_output=True, text=True).stdout
        match = re.search(r"in ([0-9.]+) s", out)
        if match is None:
            raise SystemExit(f"unexpected output from analyst_pandas.py: {out!r}")
        times.append(float(match[1]))
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default="2025-12-31T23:59:59+00:00")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--keep-csv", action="store_true", help="keep the generated CSV and print its path")
    parser.add_argument("--profile", metavar="FILE", help="run the first import under cProfile (this process "
                        "only, not the workers), save the statistics to FILE and print the 25 costliest functions")
    args = parser.parse_args(argv)

    # The database must be chosen before Django reads its settings. DEBUG off, as in production:
    # with DEBUG on Django keeps the text of the last 9,000 queries, megabytes for each bulk insert.
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production-0123456789")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdh_access.settings")
    sys.path.insert(0, str(ROOT))
    recreate_database(args.database_url)

    import django

    django.setup()
    from django.core.management import call_command

    from access_requests import history_import
    from access_requests.models import AccessRequest, Event
    from demo.history import write_csv

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    print(f"database      {args.database_url} (migrated in {time.monotonic() - started:.1f} s)")

    handle, csv_path = tempfile.mkstemp(prefix="history-", suffix=".csv")
    os.close(handle)
    try:
        started = time.monotonic()
        rows = write_csv(csv_path, args.requests, args.seed, dt.datetime.fromisoformat(args.as_of))
        size = os.path.getsize(csv_path) / 1e6
        print(f"generated     {args.requests} requests, {rows} rows, {size:.1f} MB "
              f"in {time.monotonic() - started:.1f} s")

        options = {} if args.batch_size is None else {"batch_size": args.batch_size}
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        backend_cpu = process_cpu_seconds(backend)
        reset_peak_rss()
        started, cpu = time.monotonic(), os.times()
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            first = profiler.runcall(history_import.import_history, csv_path, **options)
        else:
            first = history_import.import_history(csv_path, **options)
        wall = time.monotonic() - started
        cpu_after = os.times()
        backend_cpu = process_cpu_seconds(backend) - backend_cpu
        own_cpu = cpu_after.user + cpu_after.system - cpu.user - cpu.system
        workers_cpu = (cpu_after.children_user + cpu_after.children_system - cpu.children_user
                       - cpu.children_system)
        main_peak, workers_peak = import_peak_rss_mb(), children_peak_rss_mb()  # before pandas runs (a child too)
        pandas = pandas_load_seconds(csv_path)
        print(f"pandas load   {pandas:.2f} s (benchmarks/analyst_pandas.py load, best of 2, own process)")
        print(f"first import  {wall:.1f} s wall = {wall / pandas:.1f}x pandas, {rows / wall:,.0f} rows/s: "
              f"{first.created} created, {first.extended} extended, {first.unchanged} unchanged, "
              f"{first.events_written} events, {first.task_events_written} task events")
        print(f"              split: the pass over the references (and, for a file not grouped by reference, "
              f"reading it into the staging table) {first.staged:.1f} s, reading and checks "
              f"{first.validated - first.staged:.1f} s, writes {first.written:.1f} s, "
              f"delay materialisation {first.materialised:.1f} s, the rest (lookups, commit) "
              f"{wall - first.validated - first.written - first.materialised:.1f} s")
        print(f"              CPU time: this process {own_cpu:.1f} s, materialisation workers {workers_cpu:.1f} s, "
              f"PostgreSQL backend {backend_cpu:.1f} s (on a busy machine wall time exceeds CPU time)")
        print(f"              peak RSS during the import {main_peak:.0f} MB (materialisation workers "
              f"{workers_peak:.0f} MB each at most, shared pages counted in each)")

        if args.profile:
            import pstats

            profiler.dump_stats(args.profile)
            pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)

        started = time.monotonic()
        second = history_import.import_history(csv_path, **options)
        wall = time.monotonic() - started
        print(f"second import {wall:.1f} s wall = {wall / pandas:.1f}x pandas, {rows / wall:,.0f} rows/s: "
              f"{second.created} created, "
              f"{second.extended} extended, {second.unchanged} unchanged, {second.events_written} events")
        print(f"database now  {AccessRequest.objects.count()} requests, {Event.objects.count()} events")
        print(f"peak RSS      {peak_rss_mb():.0f} MB (the whole script: migration, generation, imports)")
        if args.keep_csv:
            print(f"csv           {csv_path}")
    finally:
        if not args.keep_csv:
            os.unlink(csv_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
