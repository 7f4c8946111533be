"""Fixtures of the notification tests: a real SMTP server, request histories at chosen instants."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .receiver import Receiver
from .smtp import SMTPServer

PARIS = ZoneInfo("Europe/Paris")



@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    """Django sends through the real SMTP server of this test process."""
    smtp_server.handler.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield smtp_server.handler
    smtp_server.handler.release()


@pytest.fixture(scope="session")
def receiver_server():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def receiver(receiver_server, settings):
    """A real HTTP receiver on 127.0.0.1 (tests/notifications/receiver.py), which the webhooks may
    post to: plain http and a loopback address are allowed here, whatever DEBUG says."""
    receiver_server.reset()
    settings.HDH_WEBHOOK_ALLOW_HTTP = True
    settings.HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    yield receiver_server
    receiver_server.reset()


@pytest.fixture(scope="session")
def english():
    """English emails come from the project's own catalogue (locale/en/LC_MESSAGES/django.po):
    its compiled django.mo must exist and be newer than the .po, or the test would read stale
    or French text. `make compilemessages` compiles it."""
    from django.conf import settings

    catalogue = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
    source, compiled = catalogue / "django.po", catalogue / "django.mo"
    if not compiled.exists() or compiled.stat().st_mtime < source.stat().st_mtime:
        pytest.fail(f"{compiled} is missing or older than {source.name}: run `make compilemessages`")


@pytest.fixture
def step(player):
    """Run one named step (tests/conftest.py: story_step) on ``request`` at the instant ``when``."""
    return player.step


@pytest.fixture
def story(player):
    """Create a draft the day before the first step, then run each ``(instant, step)``."""
    return player.story
