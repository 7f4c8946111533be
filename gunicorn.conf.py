"""gunicorn's configuration for the web process (`make serve`, deploy/serve.sh; docs/operations.md, "Serving").

gunicorn reads this file (``gunicorn -c gunicorn.conf.py hdh_access.wsgi``); options given on its
command line or in GUNICORN_CMD_ARGS win over it. Environment: PORT, GUNICORN_BIND,
WEB_CONCURRENCY, GUNICORN_THREADS.
"""

from __future__ import annotations

import os


def _positive_int(name: str, default: int) -> int:
    """An integer of at least 1 from the environment; anything else stops the start, with its name."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name} must be an integer, got {raw!r}") from None
    if value < 1:
        raise SystemExit(f"gunicorn.conf.py: {name} must be at least 1, got {value}")
    return value


def _cores() -> int:
    """The cores this process may run on (a container's or a taskset's limit, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# On this machine's loopback, port PORT, unless GUNICORN_BIND says otherwise ("0.0.0.0:8000" in a
# container, "unix:/run/hdh/web.sock" behind a reverse proxy on the same machine). Given explicitly:
# with PORT set and no bind, gunicorn itself would listen on every interface.
bind = [os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{_positive_int('PORT', 8000)}"]

# Processes: 2 × cores + 1 (gunicorn's own starting point). A request spends part of its time in
# Python (templates, the ORM), which one process runs on one core at a time (the GIL), and part
# waiting for PostgreSQL, Redis or the disk; more processes than cores keep the cores busy while
# some wait, and one slow request (an XLSX download) holds one thread of one process only.
# Each process costs about 100 MB and, with persistent connections, one database connection per
# thread: 2 × cores + 1 processes × GUNICORN_THREADS threads in all (10 on 2 cores).
workers = _positive_int("WEB_CONCURRENCY", 2 * _cores() + 1)
# Threads per process (gthread worker): a process keeps serving while one of its requests waits.
threads = _positive_int("GUNICORN_THREADS", 2)
worker_class = "gthread"

# Django is imported once, in the master, before forking: workers share its memory (copy on write),
# start at once, and a bad setting stops the start with its message instead of every worker failing
# in turn. The master opens no database connection (pre_fork below makes sure of it).
preload_app = True

# A worker is replaced after about 1,000 requests (bounds any slow growth of its memory); the jitter
# spreads the restarts so that the workers do not all restart together.
max_requests = 1000
max_requests_jitter = 100

# A request running longer than this is killed with its worker. The XLSX of every request takes
# about 8 s for 20,000 requests on 2 cores (docs/operations.md, "Downloads"): room to spare.
timeout = 60
graceful_timeout = 30
# Keep-alive seconds for a reverse proxy's or a client's next request on the same connection.
keepalive = 5

# Access log and errors to standard output / error (the service manager keeps them), with the
# time each request took in milliseconds (%(M)s) at the end of the usual combined format.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
# No control socket (gunicorn's `gunicornc`): its default path is one per user, in the home folder,
# which a second gunicorn of the same user (another site, the test suite) would take over.
control_socket_disable = True
# The workers' heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


def pre_fork(server, worker):
    """Close any database connection the master opened (none is expected) before it is copied into
    a worker: two processes sharing one connection's socket would mix their queries."""
    from django.db import connections

    connections.close_all()
