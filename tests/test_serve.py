"""The production configuration served by a real gunicorn (gunicorn.conf.py), DEBUG off.

The module collects the static files once with the production storage (hashed names, gzip and
brotli copies) into a temporary STATIC_ROOT, then starts gunicorn on the test database with
HDH_INSECURE_HTTP=1 (plain http on 127.0.0.1) and talks to it with urllib, as a browser would. The
server is stopped by its pid when the module ends, whatever happened.
"""

from __future__ import annotations

import http.cookiejar
import importlib
import os
import re
import runpy
import secrets
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.templatetags.static import static

from documents.pdf import BASE_URL, StaticFetcher, static_path
from hdh_access.lib.env import is_local_host
from tests.conftest import PASSWORD, make_user
from tests.processes import answers_http, database_url, free_port, server_environment, stop, wait_until

ROOT = Path(django_settings.BASE_DIR)
BIN = Path(sys.executable).parent
PROJECT_SETTINGS = importlib.import_module("hdh_access.settings")  # the values before any test changed them
SECRET_KEY = "serve-tests-" + secrets.token_urlsafe(40)
TEN_YEARS = 10 * 365 * 24 * 60 * 60


def production_env(**extra: str) -> dict[str, str]:
    return server_environment(DEBUG="false", SECRET_KEY=SECRET_KEY, HDH_INSECURE_HTTP="1",
                              ALLOWED_HOSTS="127.0.0.1,localhost", CELERY_TASK_ALWAYS_EAGER="true", **extra)


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """``collectstatic`` with the production storage, once for the module."""
    root = tmp_path_factory.mktemp("staticfiles")
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT,
                            env=production_env(STATIC_ROOT=str(root)), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return root


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, static_root, tmp_path_factory):
    """gunicorn with gunicorn.conf.py on the test database: its base URL."""
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = production_env(DATABASE_URL=url, STATIC_ROOT=str(static_root), PORT=str(port),
                         WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    with log.open("wb") as output:
        process = subprocess.Popen([str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "hdh_access.wsgi"],
                                   cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers_http(base + "/healthz"), timeout=60, what="gunicorn to answer",
                   process=process, log=log)
        yield base
    finally:
        stop(process)


def _other_sessions() -> list[int]:
    """The server processes of the other connections to the test database (the web server's)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return [pid for (pid,) in cursor.fetchall()]


def browser() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sign_in_over_plain_http_with_debug_off_works(server, settings):
    # What the server checks with (the suite's fast hasher is not among them).
    settings.PASSWORD_HASHERS = list(PROJECT_SETTINGS.PASSWORD_HASHERS)
    user = make_user("porteur@inserm.example")
    opener, jar = browser()

    with opener.open(f"{server}/accounts/login/", timeout=30) as page:
        assert page.status == 200 and page.url == f"{server}/accounts/login/"  # no redirect to https
        assert page.headers["Strict-Transport-Security"] is None
        html = page.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert {cookie.name: cookie.secure for cookie in jar} == {"csrftoken": False}

    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": user.email, "password": PASSWORD})
    with opener.open(f"{server}/accounts/login/", data=form.encode(), timeout=30) as signed_in:
        assert signed_in.status == 200
        assert "/accounts/login/" not in signed_in.url  # the sign-in redirected to the user's start page
    assert {cookie.name: cookie.secure for cookie in jar} == {"csrftoken": False, "sessionid": False}

    with opener.open(f"{server}/accounts/profile/", timeout=30) as profile:
        assert profile.url == f"{server}/accounts/profile/" and user.email in profile.read().decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_hashed_static_files_are_served_compressed_and_cached_for_ten_years(server):
    with urllib.request.urlopen(f"{server}/accounts/login/", timeout=30) as page:
        html = page.read().decode()
    css = re.search(r'href="(/static/dsfr/dist/(?:\w+/)*dsfr\.min\.[0-9a-f]{12}\.css)"', html).group(1)

    for encoding in ("br", "gzip"):
        request = urllib.request.Request(server + css, headers={"Accept-Encoding": encoding})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers["Content-Encoding"] == encoding
            assert response.headers["Content-Type"].startswith("text/css")
            cache = response.headers["Cache-Control"]
            assert f"max-age={TEN_YEARS}" in cache and "immutable" in cache, cache
            assert "Accept-Encoding" in response.headers["Vary"]
    with urllib.request.urlopen(server + css, timeout=30) as plain:
        assert plain.headers["Content-Encoding"] is None and b".fr-" in plain.read()
    # The unhashed name still answers (for what names it without {% static %}), briefly cached.
    unhashed_url = re.sub(r"\.[0-9a-f]{12}\.css$", ".css", css)
    with urllib.request.urlopen(server + unhashed_url, timeout=30) as unhashed:
        assert "max-age=60" in unhashed.headers["Cache-Control"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_connections_persist_and_one_the_server_closed_is_replaced_at_the_next_request(server):
    with urllib.request.urlopen(f"{server}/healthz", timeout=30) as first:
        assert first.status == 200
    kept = _other_sessions()
    assert kept  # the web server kept its connection after the request (DATABASE_CONN_MAX_AGE)
    with connection.cursor() as cursor:  # as a database restart or an idle timeout would
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [kept])
    wait_until(lambda: not set(kept) & set(_other_sessions()), timeout=10, what="the connections to end")

    # Without CONN_HEALTH_CHECKS the first request of each thread would fail on the dead connection.
    for _ in range(4):
        with urllib.request.urlopen(f"{server}/healthz", timeout=30) as again:
            assert again.status == 200
    assert _other_sessions() and not set(kept) & set(_other_sessions())


def test_pdfs_read_the_hashed_stylesheet_and_fonts_from_static_root(static_root, settings):
    settings.STATIC_ROOT = static_root
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "hdh_access.lib.staticfiles.HashedCompressedStaticFilesStorage"}}
    url = static("documents/print.css")
    assert re.fullmatch(r"/static/documents/print\.[0-9a-f]{12}\.css", url)
    assert static_path(BASE_URL + url.lstrip("/")) == str(static_root / url.removeprefix("/static/"))
    stylesheet = StaticFetcher().fetch(BASE_URL + url.lstrip("/")).read().decode()
    fonts = re.findall(r'url\("?([^")]+\.woff2)"?\)', stylesheet)
    assert fonts and all(re.search(r"\.[0-9a-f]{12}\.woff2$", font) for font in fonts)
    base = urllib.parse.urljoin(BASE_URL + url.lstrip("/"), ".")
    assert all(static_path(urllib.parse.urljoin(base, font)) for font in fonts)
    # The documents' renderer parses that hashed copy (and its hashed fonts), not the source file.
    from documents.pdf import print_style, render_pdf
    from tests.documents.helpers import pdf_reader

    assert print_style()[0].base_url == BASE_URL + url.lstrip("/")
    reader = pdf_reader(render_pdf("documents/_document.html", {"generated_at": None}, language="fr"))
    fonts = {font.get_object()["/BaseFont"].split("+")[-1] for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert fonts == {"Marianne", "Marianne-Bold"}, fonts  # the hashed fonts, loaded


def _check(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py with this environment less the variables under test, plus ``env``."""
    dropped = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HDH_INSECURE_HTTP")
    base = {k: v for k, v in server_environment().items() if k not in dropped}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True,
                          text=True, timeout=120)


def test_insecure_http_is_refused_when_a_host_is_not_this_machine():
    result = _check("check", DEBUG="false", SECRET_KEY=SECRET_KEY, HDH_INSECURE_HTTP="1",
                    ALLOWED_HOSTS="localhost,acces.health-data-hub.example")
    assert result.returncode != 0
    assert "HDH_INSECURE_HTTP" in result.stderr and "acces.health-data-hub.example" in result.stderr


def test_insecure_http_on_localhost_drops_secure_cookies_hsts_and_the_https_redirect():
    code = ("from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.DATABASES['default']['CONN_MAX_AGE'], "
            "s.DATABASES['default']['CONN_HEALTH_CHECKS'])")
    insecure = _check("shell", "-c", code, DEBUG="false", SECRET_KEY=SECRET_KEY, HDH_INSECURE_HTTP="1",
                      ALLOWED_HOSTS="127.0.0.1,localhost,[::1]")
    assert insecure.stdout.splitlines()[-1].split() == ["False", "False", "False", "False", "0", "600", "True"], \
        insecure.stderr
    secure = _check("shell", "-c", code, DEBUG="false", SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="127.0.0.1")
    assert secure.stdout.splitlines()[-1].split() == ["False", "True", "True", "True", "31536000", "600", "True"], \
        secure.stderr


@pytest.mark.parametrize(("host", "local"), [
    ("localhost", True), ("LOCALHOST.", True), ("app.localhost", True), (".localhost", True),
    ("127.0.0.1", True), ("127.8.9.10", True), ("[::1]", True), ("testserver", True),
    ("acces.health-data-hub.example", False), ("*", False), (".example.org", False), ("0.0.0.0", False),
    ("10.0.0.1", False), ("[2001:db8::1]", False), ("localhost.example", False),
])
def test_local_hosts_are_localhost_names_and_loopback_addresses(host, local):
    assert is_local_host(host) is local


def test_gunicorn_takes_its_processes_and_threads_from_the_environment_or_the_cores(monkeypatch):
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND", "PORT"):
        monkeypatch.delenv(name, raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cores = len(os.sched_getaffinity(0))
    assert (config["workers"], config["threads"], config["bind"]) == (2 * cores + 1, 2, ["127.0.0.1:8000"])
    assert config["preload_app"] is True and config["max_requests"] > 0 and config["max_requests_jitter"] > 0
    assert config["accesslog"] == "-"

    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    monkeypatch.setenv("PORT", "8123")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["workers"], config["threads"], config["bind"]) == (3, 8, ["127.0.0.1:8123"])

    monkeypatch.setenv("WEB_CONCURRENCY", "0")
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be at least 1"):
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))
