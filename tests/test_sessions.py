"""Sessions: with a shared cache (CACHE_URL), a request finds its session in Redis, not in the
database (issue 16: one query less on every page); without one, in the database as before.

Each case runs the project's settings in a fresh process (the cache is chosen at start-up), on a
SQLite file, with the suite's Redis as the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import django
import pytest

ROOT = Path(__file__).resolve().parents[1]


def signed_in_page() -> None:
    """In the child process: a signed-in user opens the home page; prints the session engine,
    whether the page saw the user signed in, and the queries that read the session table."""
    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("session@example.org", "session@example.org", "unused-password-0")
    client = Client()
    client.force_login(user)  # writes the session (through to the cache when there is one)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/")
    print(json.dumps({
        "engine": settings.SESSION_ENGINE, "status": response.status_code,
        "signed_in": response.wsgi_request.user.is_authenticated,
        "session_queries": sum(1 for query in ctx.captured_queries if "django_session" in query["sql"]),
    }))


def run(tmp_path: Path, cache_url: str | None) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "CACHE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DEBUG="true",
               DJANGO_SETTINGS_MODULE="hdh_access.settings")
    if cache_url:
        env["CACHE_URL"] = cache_url
    done = subprocess.run([sys.executable, "-c", "from tests.test_sessions import signed_in_page; signed_in_page()"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_with_a_shared_cache_a_page_reads_its_session_from_redis_not_the_database(tmp_path):
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("the suite runs with Redis: set REDIS_URL")
    result = run(tmp_path, redis_url)
    assert result == {"engine": "django.contrib.sessions.backends.cached_db", "status": 200, "signed_in": True,
                      "session_queries": 0}


def test_without_a_shared_cache_sessions_stay_in_the_database(tmp_path):
    result = run(tmp_path, None)
    assert result == {"engine": "django.contrib.sessions.backends.db", "status": 200, "signed_in": True,
                      "session_queries": 1}
