"""Every absolute link in every email starts with SITE_URL (hdh_access.lib.urls), whatever caused
the email (a transition, a page, the weekly job) and whatever Host the request carried."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from hdh_access.lib.env import env_origin
from hdh_access.lib.urls import absolute_reverse, absolute_url
from notifications import weekly_report
from notifications.models import OutboxMessage
from tests.accounts.helpers import ask_to_join
from tests.conftest import paris
from tests.documents.helpers import pdf_text

ROOT = Path(__file__).resolve().parents[2]
SITE = "http://example.test:9000"
LINK = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE


def links(row: OutboxMessage) -> list[str]:
    found = LINK.findall(row.text) + LINK.findall(row.html)
    if row.attachment_content:
        content = bytes(row.attachment_content)
        text = pdf_text(content) if row.attachment_mimetype == "application/pdf" else content.decode("utf-8-sig")
        found += LINK.findall(text)
    return found


def assert_links_on_site(row: OutboxMessage, *expected_paths: str) -> None:
    found = links(row)
    assert found, row.key
    assert all(link.startswith(SITE + "/") for link in found), (row.key, found)
    for path in expected_paths:
        assert SITE + path in found, (row.key, path, found)


def test_a_transition_email_links_to_the_configured_site(story, personas):
    request = story((paris(2025, 1, 6), "submit"))

    applicant = OutboxMessage.objects.get(to=personas["applicant"].email)
    reviewer = OutboxMessage.objects.get(to=personas["secretariat"].email)
    assert_links_on_site(applicant, f"/portal/requests/{request.reference}/")
    assert_links_on_site(reviewer, f"/backoffice/requests/{request.reference}/")


def test_sign_up_links_to_the_configured_site_not_to_the_host_the_form_was_posted_to(
        client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:signup"), {
            "email": "ada@univ.example", "first_name": "Ada", "last_name": "Lovelace", "organisation": "Univ",
            "password1": "Une-Phrase-De-Passe-Solide-7", "password2": "Une-Phrase-De-Passe-Solide-7"},
            HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 302
    row = OutboxMessage.objects.get(to="ada@univ.example")
    assert_links_on_site(row)
    assert "/accounts/confirm/" in links(row)[0] and "127.0.0.1" not in row.text + row.html


def test_the_password_reset_link_is_on_the_configured_site(client, personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": personas["applicant"].email},
                               HTTP_HOST="localhost")
    assert response.status_code == 302
    row = OutboxMessage.objects.get(to=personas["applicant"].email)
    assert_links_on_site(row)
    path = links(row)[0].removeprefix(SITE)
    assert path.startswith("/accounts/password-reset/") and "localhost" not in row.text + row.html
    assert client.get(path, follow=True).context["validlink"]  # the link works


def test_membership_emails_link_to_the_configured_site(client, personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    told = OutboxMessage.objects.get(to=personas["applicant"].email, key__startswith="account:membership_requested")
    assert_links_on_site(told, "/accounts/organisation/")
    client.force_login(personas["secretariat"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("backoffice:approve_membership", args=[membership.pk]), HTTP_HOST="127.0.0.1:8000")
    approved = OutboxMessage.objects.get(to="nouvelle@inserm.example", key__startswith="account:membership_approved")
    assert_links_on_site(approved, "/portal/")


def test_the_weekly_report_and_its_file_link_to_the_configured_site(story, personas):
    request = story((paris(2025, 1, 6), "submit"))

    (row,) = weekly_report.queue_weekly_reports(as_of=paris(2025, 6, 16, 8), to=["direction@hdh.example"]).created
    # the profile (to unsubscribe) in the email, every request in the attached file
    assert_links_on_site(row, "/accounts/profile/", f"/backoffice/requests/{request.reference}/")


def test_absolute_links_are_built_from_the_setting_each_time(settings):
    settings.SITE_URL = "https://acces.example"  # as env_origin gives it: no trailing slash
    assert absolute_url("/portal/") == "https://acces.example/portal/"
    assert absolute_reverse("portal:detail", "HDH-2025-0001") == "https://acces.example/portal/requests/HDH-2025-0001/"
    with pytest.raises(ValueError, match="starting with '/'"):
        absolute_url("portal/")


@pytest.mark.parametrize(("raw", "value"), [
    ("https://acces.health-data-hub.fr", "https://acces.health-data-hub.fr"),
    ("http://127.0.0.1:8123/", "http://127.0.0.1:8123"), (" http://[::1]:9000 ", "http://[::1]:9000"), ("", SITE),
])
def test_site_url_is_an_origin(monkeypatch, raw, value):
    monkeypatch.setenv("SITE_URL", raw)
    assert env_origin("SITE_URL", SITE) == value


@pytest.mark.parametrize("raw", ["acces.example", "ftp://acces.example", "https://acces.example/app",
                                 "https://acces.example?x=1", "https://user:pw@acces.example", "http://:80",
                                 "http://acces.example:99999"])
def test_a_site_url_that_is_not_an_origin_stops_the_start(monkeypatch, raw):
    monkeypatch.setenv("SITE_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="SITE_URL"):
        env_origin("SITE_URL", SITE)


@pytest.mark.parametrize(("env", "expected"), [
    ({"PORT": "8123"}, "SITE_URL='http://127.0.0.1:8123'"),
    ({"PORT": "8123", "SITE_URL": "https://acces.example"}, "SITE_URL='https://acces.example'"),
])
def test_make_run_gives_the_served_address_as_site_url_unless_the_environment_has_one(env, expected):
    environment = {k: v for k, v in os.environ.items() if k not in {"SITE_URL", "PORT", "MAKEFLAGS", "MAKELEVEL"}}
    result = subprocess.run(["make", "-n", "run"], cwd=ROOT, env={**environment, **env}, capture_output=True,
                            text=True, timeout=60, check=True)
    served = [line for line in result.stdout.splitlines() if "manage.py runserver" in line or "seed_demo" in line]
    assert len(served) == 2 and all(expected in line for line in served), result.stdout
    assert served[-1].endswith(f"runserver 127.0.0.1:{env['PORT']}")
