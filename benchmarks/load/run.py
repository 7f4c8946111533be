"""The load benchmark of issue 16: the mixed workload (locustfile.py) on the served application.

    python benchmarks/load/run.py [--users 50] [--duration 120] [--requests 300|100000]
                                  [--database postgres|sqlite] [--port 8140] [--reuse]

Prints figures and checks the writes; the goals are printed beside the figures, not asserted.

1. A benchmark database: PostgreSQL ``hdh_bench_load_<N>`` (dropped and recreated) or a SQLite
   file under var/load/, migrated; ``--requests 300`` seeds the demo (``seed_demo``: its accounts,
   four years of history and a load in every queue), ``--requests 100000`` imports a generated
   history (benchmarks/generate_history.py, the history import). Then the benchmark's accounts
   (each persona's, password hashed as in production) and its work: requests submitted and
   under CESREES review, enough for the secretariat and the CESREES users to act all the run.
   ``--reuse`` keeps a database already seeded for the same size.
2. The server, as ``make serve`` runs it on PostgreSQL: gunicorn (gunicorn.conf.py), a Celery
   worker and beat on Redis (``--redis``), ``DEBUG`` off, ``HDH_INSECURE_HTTP=1`` (plain http on
   localhost): deploy/serve.sh. On SQLite, as ``make run`` does: ``manage.py runserver`` with ``DEBUG`` on and the
   tasks in-process; the server log's "database is locked" are counted.
3. locust, headless, on this machine: ``--users`` users spawned at ``--rate`` per second, then
   ``--duration`` seconds of load; the figures cover the time after the last user signed in (the
   sign-in times are reported apart).
4. Per endpoint: requests, requests/s, p50, p95, p99, errors; the total throughput against the
   think-time limit (users / 1 s); then every write the server acknowledged (locustfile.py records
   them) looked up in the database.
5. Everything it started is stopped, whatever happens.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PASSWORD = "Charge-HDH-2026!"
SECRET_KEY = "load-benchmark-only-secret-key-not-for-production-0123456789abcdef"
WORK_PREFIXES = {"submitted": "LOAD-S-", "cesrees_review": "LOAD-C-"}
# Personas of locustfile.py and their weights (the accounts each needs follow the users' share).
WEIGHTS = {"applicant": 4, "secretariat": 2, "cesrees": 1, "platform": 1, "holder": 1, "management": 1}
GOALS = {  # issue 16, on 2 cores with locust on the same machine
    50: {"throughput": 0.9, "p95_ms": 300},
    200: {"p95_ms": 1000},
    10: {"p95_ms": None},
}


# --- 1. the database ----------------------------------------------------------------------------
def recreate_postgres(url: str) -> None:
    """Drop and create a benchmark database (bench_import.recreate_database), only one whose name
    starts with hdh_bench."""
    from urllib.parse import urlsplit

    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("hdh_bench"):
        raise SystemExit(f"refusing to drop database {name!r} (benchmark databases start with hdh_bench)")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_import import recreate_database

    recreate_database(url)


def seed(args, accounts_path: Path, *, reuse: bool) -> dict:
    """Migrate, load the history, create the personas' accounts and their work (in this process)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from access_requests import services
    from access_requests.history_import import import_history
    from access_requests.models import AccessRequest
    from access_requests.workflow import Role
    from accounts.models import Organisation, Profile
    from catalog.models import DataHolder
    from delays.materialise import refresh_baseline, refresh_open_delays

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    figures: dict = {}
    if reuse:
        pass
    elif args.requests == 300:
        call_command("seed_demo", force=True, requests=300, password=PASSWORD, verbosity=0, stdout=open(os.devnull, "w"))
    else:
        from demo.history import write_csv

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "history.csv"
            write_csv(path, args.requests, 42, dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
            import_history(path)
        refresh_baseline()
    figures["history_s"] = time.monotonic() - started

    # The personas' accounts, one password hash for all. An applicant per user, in organisations of
    # five; the reviewers' teams of a realistic size (every member of a queue's role is emailed when
    # a request enters it), shared by several users (each user has its own session).
    started = time.monotonic()
    hashed = make_password(PASSWORD)
    cnam = DataHolder.objects.get(code="cnam")
    roles = {"secretariat": Role.SECRETARIAT, "cesrees": Role.CESREES, "platform": Role.PLATFORM,
             "holder": Role.DATA_HOLDER, "management": Role.MANAGEMENT}
    team = {"applicant": max(args.users, 200), "secretariat": 8, "cesrees": 8, "platform": 4, "holder": 4,
            "management": 4}
    organisations = [Organisation.objects.get_or_create(name=f"Organisme de l'étude de charge n°{index}")[0]
                     for index in range(math.ceil(team["applicant"] / 5))]
    personas: dict[str, list[str]] = {}
    for persona in WEIGHTS:
        emails = [f"charge-{persona}-{index:03d}@bench.example" for index in range(team[persona])]
        existing = set(User.objects.filter(username__in=emails).values_list("username", flat=True))
        created = User.objects.bulk_create([
            User(username=email, email=email, password=hashed, first_name=persona.capitalize(), last_name=f"n°{index}")
            for index, email in enumerate(emails) if email not in existing])
        Profile.objects.bulk_create([
            Profile(user=user, organisation=organisations[index // 5] if persona == "applicant" else None,
                    data_holder=cnam if persona == "holder" else None) for index, user in enumerate(created)])
        if persona in roles:
            Group.objects.get(name=roles[persona]).user_set.add(*created)
        personas[persona] = emails
    # A reused database's accounts get this run's hash too (the hasher may have changed since).
    User.objects.filter(username__endswith="@bench.example").update(password=hashed)
    accounts_path.write_text(json.dumps({"password": PASSWORD, "personas": personas}), encoding="utf-8")

    # The work: requests submitted (the secretariat's) and under CESREES review (the CESREES's),
    # imported through the history import, given to the benchmark's organisation with a few
    # hundred past requests so that the applicants' lists are not empty.
    per_state = max(200, args.users * args.duration // 15)
    now = timezone.now()
    rows = []
    for state, prefix in WORK_PREFIXES.items():
        path_states = ["draft", "submitted"] + (["cesrees_review"] if state == "cesrees_review" else [])
        for number in range(1, per_state + 1):
            reference = f"{prefix}{number:05d}"
            if AccessRequest.objects.filter(reference=reference).exists():
                continue
            start = now - dt.timedelta(days=20, minutes=number)
            for step, entered in enumerate(path_states):
                rows.append({"reference": reference, "at": (start + dt.timedelta(days=5 * step)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"), "state": entered, "datasets": "snds;oscour" if step == 0 else "",
                    "requires_matching": "", "title": f"Étude de charge {reference}" if step == 0 else ""})
    if rows:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "work.csv"
            with open(path, "w", newline="", encoding="utf-8") as out:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            result = import_history(path)
        past = list(AccessRequest.objects.filter(organisation__isnull=True).exclude(pk__in=result.request_ids)
                    .order_by("pk").values_list("pk", flat=True)[:5 * len(organisations)])
        for index, organisation in enumerate(organisations):
            share = [*sorted(result.request_ids)[index::len(organisations)], *past[index::len(organisations)]]
            services.attach_to_organisation(request_ids=share, organisation=organisation)
        refresh_open_delays(now=timezone.now())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    figures["work_s"] = time.monotonic() - started
    figures["requests"] = AccessRequest.objects.count()
    figures["work"] = {state: AccessRequest.objects.filter(reference__startswith=prefix, state=state).count()
                       for state, prefix in WORK_PREFIXES.items()}
    return figures


# --- 2. the server --------------------------------------------------------------------------------
class Processes:
    """The processes this run started, each in its own process group, stopped by their ids."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w", encoding="utf-8")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.started.append((name, process))
        return process

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by the processes of each started session, by kind:
        web (gunicorn or runserver), worker and beat (Celery), other (serve.sh's shell)."""
        tick = os.sysconf("SC_CLK_TCK")
        sessions = {process.pid for _name, process in self.started}
        used: dict[str, float] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if int(fields[3]) not in sessions:  # the fields after the command: state, ppid, pgrp, session
                continue
            kind = ("web" if "gunicorn" in command or "runserver" in command else "worker" if " worker" in command
                    else "beat" if " beat" in command else "other")
            # utime and stime, plus cutime and cstime: the children it has reaped (a gunicorn worker
            # replaced after max_requests, a Celery child) still count, in their parent.
            used[kind] = used.get(kind, 0.0) + sum(int(value) for value in fields[11:15]) / tick
        return used

    @staticmethod
    def postgres_seconds() -> float:
        """CPU time used so far by the PostgreSQL server's processes (its backends are kept open
        by the web's persistent connections, so the difference over a run is theirs)."""
        tick = os.sysconf("SC_CLK_TCK")
        used = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            if "(postgres)" in text:
                fields = text.rsplit(")", 1)[1].split()
                used += sum(int(value) for value in fields[11:15]) / tick  # with the backends that ended
        return used

    @staticmethod
    def machine_seconds() -> tuple[float, float]:
        """(busy, all) CPU seconds of the whole machine so far, from /proc/stat."""
        tick = os.sysconf("SC_CLK_TCK")
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]  # idle, iowait
        return (sum(values) - idle) / tick, sum(values) / tick

    def stop(self) -> None:
        for _name, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, process in self.started:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def server_commands(args, port: int) -> list[tuple[str, list[str]]]:
    if args.database == "sqlite":  # as `make run`
        return [("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"])]
    # As `make serve`: deploy/serve.sh (migrate, collectstatic, then gunicorn with gunicorn.conf.py,
    # a Celery worker and beat), with this virtualenv's Python.
    return [("web", [str(ROOT / "deploy" / "serve.sh")])]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped at start (exit {process.returncode}): see its log")
        try:
            with urllib.request.urlopen(url + "/accounts/login/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer at {url} within {seconds:.0f} s")


# --- 4. the figures -----------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(args, samples: list) -> dict:
    """Per endpoint and in all, over the steady window: from the last sign-in to the last request."""
    logins = [rt for _method, name, _start, rt, _failed in samples if name == "login"]
    window_start = max((start + rt / 1000 for _m, name, start, rt, _f in samples if name == "login"), default=0.0)
    steady = [s for s in samples if s[2] >= window_start and not s[1].startswith("login")]
    seconds = (max(s[2] + s[3] / 1000 for s in steady) - window_start) if steady else 0.0
    by_name: dict[str, list] = {}
    for method, name, _start, rt, failed in steady:
        by_name.setdefault(f"{method} {name}", []).append((rt, failed))
    print(f"\n{'endpoint':44} {'requests':>8} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6}")

    def line(name: str, rows: list) -> dict:
        times = [rt for rt, _failed in rows]
        figures = {"requests": len(rows), "rate": len(rows) / seconds if seconds else 0.0,
                   "p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95),
                   "p99_ms": percentile(times, 0.99), "errors": sum(1 for _rt, failed in rows if failed)}
        print(f"{name[:44]:44} {figures['requests']:>8} {figures['rate']:>7.1f} {figures['p50_ms']:>6.0f} "
              f"{figures['p95_ms']:>6.0f} {figures['p99_ms']:>6.0f} {figures['errors']:>6}")
        return figures

    for name in sorted(by_name):
        line(name, by_name[name])
    total = line("TOTAL", [row for rows in by_name.values() for row in rows])
    limit = args.users / 1.0  # users / mean think time (between(0.5, 1.5))
    total.update(limit=limit, ratio=total["rate"] / limit if limit else 0.0, seconds=seconds,
                 login_p50_ms=percentile(logins, 0.5), login_p95_ms=percentile(logins, 0.95))
    print(f"(times in ms, over the {seconds:.0f} s after the last of the {args.users} users signed in)")
    print(f"\nthroughput    {total['rate']:.1f} requests/s; think-time limit {limit:.0f}/s (users / 1 s): "
          f"{total['ratio']:.0%} of it")
    print(f"sign-in       {len(logins)} sign-ins during the ramp, p50 {total['login_p50_ms']:.0f} ms, "
          f"p95 {total['login_p95_ms']:.0f} ms, {sum(1 for s in samples if s[1] == 'login' and s[4])} refused")
    failures = Path(f"{args.var / 'locust'}_failures.csv")
    if failures.exists():
        with open(failures, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                print(f"failure       {row['Occurrences']:>5} × {row['Method']} {row['Name']}: {row['Error'][:120]}")
    return total


def check_writes(writes: Path) -> tuple[int, list[str]]:
    """Every acknowledged write, looked up in the database: (how many, what is missing)."""
    from access_requests.models import AccessRequest, Attachment, Event

    acknowledged = [json.loads(line) for line in writes.read_text(encoding="utf-8").splitlines()] if writes.exists() else []
    titles: dict[str, str] = {}  # a draft's last acknowledged title (created, then saved)
    missing = []
    for write in acknowledged:
        if write["kind"] in ("draft_created", "draft_saved"):
            titles[write["reference"]] = write["title"]
        elif write["kind"] == "attachment":
            if not Attachment.objects.filter(request__reference=write["reference"],
                                             original_name=write["name"]).exists():
                missing.append(f"attachment {write['name']} of {write['reference']}")
        elif write["kind"] == "event":
            if not Event.objects.filter(request__reference=write["reference"], action=write["action"],
                                        actor__username=write["actor"]).exists():
                missing.append(f"{write['action']} of {write['reference']} by {write['actor']}")
    # The title acknowledged last, or the one its next save gives it (" (enregistré)" added): a save
    # the server committed while locust was stopping, its acknowledgement never read.
    found = dict(AccessRequest.objects.filter(reference__in=titles).values_list("reference", "title"))
    missing += [f"draft {ref} titled {title!r} (found {found.get(ref)!r})"
                for ref, title in titles.items() if not (found.get(ref) or "\0").startswith(title)]
    return len(acknowledged), missing


# --- the run ------------------------------------------------------------------------------------
def setup_django(env: dict) -> None:
    """Collect the static files, then set Django up in this process with ``env`` as its whole
    environment (the seeding, and pages.py's renders, run here)."""
    # The static files first: with DEBUG off the pages and PDFs the seeding renders need the manifest.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rate", type=float, default=None, help="users spawned per second (default users/10)")
    parser.add_argument("--duration", type=int, default=120, help="seconds of load after the ramp")
    parser.add_argument("--requests", type=int, choices=(300, 100_000), default=300)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default hdh_bench_load_<requests>)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/4", help="broker and cache (Celery, Django)")
    parser.add_argument("--port", type=int, default=8140)
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded for this size")
    parser.add_argument("--var", type=Path, default=ROOT / "var" / "load")
    args = parser.parse_args(argv)
    rate = args.rate or max(1.0, args.users / 10)

    args.var.mkdir(parents=True, exist_ok=True)
    for old in args.var.glob("*"):
        if old.is_file() and old.name != "load.sqlite3":
            old.unlink()
    if args.database == "sqlite":
        database_url = f"sqlite:///{args.var / 'load.sqlite3'}"
    else:
        database_url = args.database_url or f"postgres://postgres@127.0.0.1:5432/hdh_bench_load_{args.requests}"
    url = f"http://127.0.0.1:{args.port}"
    env = {name: value for name, value in os.environ.items()
           if name not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "DEBUG")}
    env.update(DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="127.0.0.1,localhost",
               SITE_URL=url, PORT=str(args.port), PRIVATE_MEDIA_ROOT=str(args.var / "private"),
               STATIC_ROOT=str(args.var / "static"), DJANGO_SETTINGS_MODULE="hdh_access.settings",
               LOG_LEVEL="WARNING", EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
               PY=sys.executable)
    if args.database == "sqlite":  # `make run`: DEBUG on, tasks in-process
        env.update(DEBUG="true")
    else:  # `make serve`
        env.update(DEBUG="false", HDH_INSECURE_HTTP="1", REDIS_URL=args.redis, CACHE_URL=args.redis)

    # 1. The database, seeded in this process (Django set up on the benchmark's settings).
    marker = args.var / f"seeded-{args.database}-{args.requests}.json"
    reuse = args.reuse and marker.exists()
    if not reuse:
        if args.database == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{args.var / 'load.sqlite3'}{suffix}").unlink(missing_ok=True)
        else:
            recreate_postgres(database_url)
        shutil.rmtree(args.var / "private", ignore_errors=True)
    setup_django(env)
    accounts = args.var / "accounts.json"
    started = time.monotonic()
    figures = seed(args, accounts, reuse=reuse)
    marker.write_text(json.dumps(figures), encoding="utf-8")
    print(f"database      {database_url}: {figures['requests']} requests; work {figures['work']} "
          f"(seeded in {time.monotonic() - started:.0f} s{', reused' if reuse else ''})")
    from django.db import connections

    connections.close_all()

    processes = Processes(args.var)
    try:
        # 2. The server.
        for name, command in server_commands(args, args.port):
            processes.start(name, command, env)
        wait_until_up(url, processes.started[0][1])
        print(f"server        {' '.join(Path(part).name for part in processes.started[0][1].args)} on {url}"
              f" ({'DEBUG on, as make run' if args.database == 'sqlite' else 'DEBUG off, as make serve'})")
        # 3. locust.
        writes, samples_path, prefix = args.var / "writes.jsonl", args.var / "samples.json", args.var / "locust"
        ramp = args.users / rate
        locust_env = {**env, "LOAD_ACCOUNTS": str(accounts), "LOAD_WRITES": str(writes), "LOAD_SAMPLES": str(samples_path)}
        command = [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless", "-u", str(args.users),
                   "-r", str(rate), "-t", f"{math.ceil(ramp + args.duration)}s", "--host", url, "--csv", str(prefix),
                   "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"]
        print(f"locust        {args.users} users at {rate:g}/s, {args.duration} s after a {ramp:.0f} s ramp ...",
              flush=True)
        cpu_before = processes.cpu_seconds()
        cpu_before["postgres"] = processes.postgres_seconds()
        machine_before = processes.machine_seconds()
        locust_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(args.var / "locust.log", "w", encoding="utf-8") as log:
            subprocess.run(command, cwd=ROOT, env=locust_env, stdout=log, stderr=subprocess.STDOUT,
                           timeout=ramp + args.duration + 300)
        cpu_after = processes.cpu_seconds()
        cpu_after["postgres"] = processes.postgres_seconds()
        machine_after = processes.machine_seconds()
        locust_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_after["locust"] = (locust_after.ru_utime + locust_after.ru_stime
                               - locust_before.ru_utime - locust_before.ru_stime)
    finally:
        processes.stop()

    # 4. The figures and the writes.
    samples = json.loads(samples_path.read_text()) if samples_path.exists() else []
    result = report(args, samples)
    served = sum(1 for sample in samples if not sample[4])
    cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    print("server CPU    " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in cpu.items())
          + f" for {served} requests answered (sign-ins included): {1000 * cpu.get('web', 0) / max(served, 1):.0f} ms"
          " of web CPU per request")
    busy, whole = (after - before for after, before in zip(machine_after, machine_before, strict=True))
    print(f"machine       {100 * busy / max(whole, 1e-9):.0f} % of its {os.cpu_count()} cores busy during the run"
          f" ({busy:.0f} s of {whole:.0f} s)")
    acknowledged, missing = check_writes(writes)
    print(f"writes        {acknowledged} acknowledged, {acknowledged - len(missing)} found in the database"
          + (f"; MISSING: {missing[:10]}" if missing else ""))
    crashed = (args.var / "locust.log").read_text(encoding="utf-8", errors="replace").count("Traceback")
    if crashed:
        print(f"locust        {crashed} errors in the personas' own code: see {args.var / 'locust.log'}")
    web_log = (args.var / "web.log").read_text(encoding="utf-8", errors="replace")
    locked = web_log.count("database is locked")
    server_errors = web_log.count("Internal Server Error")
    print(f"server log    {locked} 'database is locked', {server_errors} server errors ({args.var / 'web.log'})")
    goal = GOALS.get(args.users)
    if args.database == "sqlite":
        print(f"goal          SQLite at 10 users: 0 'database is locked' -> {locked}")
    if goal:
        parts = []
        if goal.get("throughput"):
            parts.append(f"throughput within 10 % of the limit: {result['ratio']:.0%}")
        if goal.get("p95_ms"):
            parts.append(f"p95 <= {goal['p95_ms']} ms: {result['p95_ms']:.0f} ms")
        parts.append(f"0 errors: {result['errors']}")
        print(f"goal          at {args.users} users, " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
