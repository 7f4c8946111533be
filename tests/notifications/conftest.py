"""Fixtures of the notification tests: a real SMTP server, request histories at chosen instants."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .smtp import SMTPServer

PARIS = ZoneInfo("Europe/Paris")
HERE = Path(__file__).resolve().parent


def paris(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


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
def english_catalogue(tmp_path_factory):
    """The English translations of the email strings (emails_en.po, to be merged into
    locale/en), compiled into a locale folder placed first in LOCALE_PATHS."""
    if shutil.which("msgfmt") is None:
        pytest.fail("msgfmt is missing: `make debian` installs gettext")
    folder = tmp_path_factory.mktemp("locale")
    target = folder / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    subprocess.run(["msgfmt", "--check-format", "-o", str(target / "django.mo"), str(HERE / "emails_en.po")],
                   check=True)
    return folder


@pytest.fixture
def english(settings, english_catalogue):
    from django.utils.translation import trans_real

    settings.LOCALE_PATHS = [str(english_catalogue), *settings.LOCALE_PATHS]
    trans_real._translations = {}
    trans_real._default = None
    yield
    trans_real._translations = {}
    trans_real._default = None


@pytest.fixture
def step(player):
    """Run one named step (tests/conftest.py: story_step) on ``request`` at the instant ``when``."""
    return player.step


@pytest.fixture
def story(player):
    """Create a draft the day before the first step, then run each ``(instant, step)``."""
    return player.story
