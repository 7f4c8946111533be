"""Settings come from the environment; production settings pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hdh_access.lib.env import env_bool, env_int, env_list, env_networks

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests for their own process only.
    dropped = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    full_env = {k: v for k, v in os.environ.items() if k not in dropped}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy_without_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="false",
                     SECRET_KEY="x" * 30 + "-production-secret-key-from-the-environment-123456",
                     ALLOWED_HOSTS="acces.health-data-hub.example")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_without_secret_key_refuses_to_start():
    result = _manage("check", DEBUG="false", SECRET_KEY="", ALLOWED_HOSTS="x.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_without_debug_in_the_environment_production_settings_apply_and_need_a_secret_key():
    result = _manage("check", SECRET_KEY="", ALLOWED_HOSTS="x.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    shown = _manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)",
                    SECRET_KEY="x" * 50, ALLOWED_HOSTS="x.example")
    assert shown.stdout.strip().splitlines()[-1] == "False", shown.stderr


def test_env_bool_reads_true_false_and_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "off")
    assert env_bool("X_FLAG", True) is False
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("X_NUM", "12")
    assert env_int("X_NUM", 1) == 12
    monkeypatch.setenv("X_NUM", "douze")
    with pytest.raises(ImproperlyConfigured, match="X_NUM"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_LIST", "a.example, b.example,")
    assert env_list("X_LIST", []) == ["a.example", "b.example"]


def test_env_networks_reads_addresses_and_networks_and_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("X_PROXIES", "10.0.0.0/8, 192.0.2.7,2001:db8::/32")
    assert [str(n) for n in env_networks("X_PROXIES")] == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]
    monkeypatch.delenv("X_PROXIES")
    assert env_networks("X_PROXIES") == []
    monkeypatch.setenv("X_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(ImproperlyConfigured, match="X_PROXIES"):
        env_networks("X_PROXIES")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("HDH_TRUSTED_PROXIES", "10.0.0.300", "HDH_TRUSTED_PROXIES must list IP addresses or networks"),
    ("HDH_LOGIN_IP_FAILURE_LIMIT", "0", "HDH_LOGIN_IP_FAILURE_LIMIT must be at least 1"),
    ("HDH_LOGIN_DELAY_SECONDS", "600", "HDH_LOGIN_DELAY_SECONDS must be between 0 and HDH_LOGIN_DELAY_MAX_SECONDS"),
    ("HDH_CLAMAV_SOCKET", "tcp://clamd:port", "HDH_CLAMAV_SOCKET: expected tcp://host:port"),
    ("CELERY_WORKER_CONCURRENCY", "0", "CELERY_WORKER_CONCURRENCY must be at least 1"),
])
def test_bad_settings_stop_the_start(name, value, message):
    result = _manage("check", DEBUG="true", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_with_trusted_proxies_and_a_health_token_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="false",
                     SECRET_KEY="x" * 30 + "-production-secret-key-from-the-environment-123456",
                     ALLOWED_HOSTS="acces.health-data-hub.example", HDH_TRUSTED_PROXIES="10.0.0.0/8",
                     HDH_HEALTHZ_TOKEN="jeton-de-supervision-assez-long-0123456789")
    assert result.returncode == 0, result.stderr


def test_defaults_use_embedded_sqlite_and_eager_tasks():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER")}
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','hdh_access.settings'); django.setup();"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE, s.LANGUAGE_CODE, s.USE_TZ)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["hdh_access.sqlite", "True", "Europe/Paris", "fr", "True"], out.stderr
