"""Fixtures of the notification tests: a real SMTP server, request histories at chosen instants."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.workflow import State
from catalog.models import Dataset

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


_STAGE_OWNER = {State.SUBMITTED: "secretariat", State.CESREES_REVIEW: "cesrees", State.CNIL_REVIEW: "cnil",
                State.CONTRACTING: "cnam", State.MATCHING: "cnam"}
STEPS = {
    "submit": (services.submit, "applicant", {}),
    "forward": (services.forward_to_cesrees, "secretariat", {}),
    "opinion": (services.record_cesrees_opinion, "cesrees", {"opinion": "favourable"}),
    "authorise": (services.record_cnil_decision, "cnil",
                  {"authorised": True, "decision_number": "DR-2025-042", "decision_date": dt.date(2025, 1, 6)}),
    "contract": (services.record_contract_signed, "cnam", {}),
    "matched": (services.record_matching_done, "cnam", {}),
    "deliver": (services.deliver, "cnam", {}),
    "close": (services.close, "platform", {}),
    "reject": (services.reject, "secretariat", {"reason": "Hors du champ de la plateforme"}),
    "withdraw": (services.withdraw, "applicant", {"reason": "Projet abandonné"}),
    "ask": (services.request_information, None, {"question": "Précisez la finalité du traitement ?"}),
    "answer": (services.answer_information, "applicant", {"answer": "Voici les précisions demandées."}),
    "extend": (services.extend_review, None, {}),
}


@pytest.fixture
def step(personas, django_capture_on_commit_callbacks):
    """Run one step of STEPS on ``request`` at the instant ``when`` (on-commit callbacks
    executed, so the eager tasks run as after a real commit)."""

    def run(request, when, name):
        service, who, kwargs = STEPS[name]
        if who is None:
            state = AccessRequest.objects.get(pk=request.pk).state
            who = _STAGE_OWNER[state] if name == "ask" else {"cesrees_review": "cesrees", "cnil_review": "cnil"}[state]
        with time_machine.travel(when, tick=False), django_capture_on_commit_callbacks(execute=True):
            return service(request_id=request.pk, actor=personas[who], **kwargs)

    return run


@pytest.fixture
def story(personas, step, django_capture_on_commit_callbacks):
    """Create a draft the day before the first step, then run each ``(instant, step)``."""

    def make(*steps, codes=("snds", "oscour"), title="Parcours de soins après un AVC"):
        with time_machine.travel(steps[0][0] - dt.timedelta(days=1), tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            request = services.create_draft(actor=personas["applicant"], title=title,
                                            datasets=list(Dataset.objects.filter(code__in=codes)))
        for when, name in steps:
            request = step(request, when, name)
        return request

    return make
