"""Failed sign-ins (issue #13): a growing wait, then a lock per account and, with a higher limit, per
address; the address is REMOTE_ADDR unless a trusted proxy forwards it (hdh_access/lockout.py,
hdh_access/lib/client_ip.py)."""

from __future__ import annotations

import datetime as dt
from ipaddress import ip_network

import pytest
import time_machine
from axes.models import AccessAttempt
from django.db.models import Sum
from django.test import RequestFactory
from django.urls import reverse

from hdh_access.lib.client_ip import client_ip
from hdh_access.lockout import wait_after
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
URL = "/accounts/login/"


@pytest.fixture(autouse=True)
def lockout_settings(settings):
    """The production defaults, spelled out so that the tests read them."""
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = 15 / 60  # hours
    settings.HDH_LOGIN_IP_FAILURE_LIMIT = 50
    settings.HDH_LOGIN_DELAY_AFTER = 3
    settings.HDH_LOGIN_DELAY_SECONDS = 2
    settings.HDH_LOGIN_DELAY_MAX_SECONDS = 120
    settings.HDH_TRUSTED_PROXIES = []
    return settings


def attempt(client, username: str, password: str = "mauvais", *, ip: str = "203.0.113.10", **headers):
    return client.post(URL, {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def failures(**filters) -> int:
    return AccessAttempt.objects.filter(**filters).aggregate(n=Sum("failures_since_start"))["n"] or 0


def signed_in(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


# --- the growing wait ---------------------------------------------------------------------------------
def test_the_wait_starts_after_three_failures_and_doubles_up_to_its_maximum(settings):
    settings.HDH_LOGIN_DELAY_MAX_SECONDS = 10
    assert [wait_after(n) for n in range(8)] == [0, 0, 0, 2, 4, 8, 10, 10]
    assert wait_after(10_000) == 10


def test_an_attempt_inside_the_wait_is_refused_at_once_without_checking_the_password(client, applicant):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            assert attempt(client, applicant.username).status_code == 200
        # The right password, 0 s after the third failure: refused, not signed in, not counted.
        refused = attempt(client, applicant.username, PASSWORD)
        assert refused.status_code == 429 and refused["Retry-After"] == "2"
        assert "Trop de tentatives : réessayez dans 2 secondes." in refused.content.decode()
        assert not signed_in(client, applicant) and failures(username=applicant.username) == 3
        clock.shift(1)
        assert "réessayez dans 1 seconde." in attempt(client, applicant.username, PASSWORD).content.decode()
        clock.shift(1)
        # The wait is over: the password is checked again; a fourth failure doubles the wait.
        wrong = attempt(client, applicant.username)
        assert wrong.status_code == 200 and "Trop de tentatives" not in wrong.content.decode()
        assert failures(username=applicant.username) == 4
        assert attempt(client, applicant.username, PASSWORD)["Retry-After"] == "4"
        clock.shift(4)
        right = attempt(client, applicant.username, PASSWORD)
        assert right.status_code == 302 and signed_in(client, applicant)
        # A successful sign-in forgets the failures: the next wrong password is not kept waiting.
        assert failures(username=applicant.username) == 0
        client.logout()
        for _ in range(3):
            assert attempt(client, applicant.username).status_code == 200


def test_the_wait_is_per_account_not_per_address(client, applicant, colleague):
    with time_machine.travel(START, tick=False):
        for n in range(3):
            attempt(client, applicant.username, ip=f"198.51.100.{n}")
        assert attempt(client, applicant.username, PASSWORD, ip="192.0.2.200").status_code == 429
        # Another account from the same addresses is not kept waiting.
        assert attempt(client, colleague.username, PASSWORD, ip="198.51.100.0").status_code == 302


def test_the_admin_sign_in_says_how_long_to_wait_too(client, superuser):
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            client.post("/admin/login/", {"username": superuser.username, "password": "mauvais"})
        refused = client.post("/admin/login/", {"username": superuser.username, "password": PASSWORD})
        assert "réessayez dans 2 secondes" in refused.content.decode()
        assert not signed_in(client, superuser)


# --- the account lock ---------------------------------------------------------------------------------
def test_the_account_is_locked_at_the_limit_whatever_the_addresses_tried_from(client, applicant):
    with time_machine.travel(START, tick=False) as clock:
        for n in range(5):  # each from another address, each after the wait
            response = attempt(client, applicant.username.upper(), ip=f"198.51.100.{n}")
            clock.shift(wait_after(n + 1))
        assert response.status_code == 429 and "Trop de tentatives de connexion" in response.content.decode()
        assert failures(username=applicant.username) == 5  # one account, whatever the case typed
        # Locked: even the right password from a new address is refused.
        locked = attempt(client, applicant.username, PASSWORD, ip="192.0.2.77")
        assert locked.status_code == 429 and not signed_in(client, applicant)
    with time_machine.travel(START + dt.timedelta(minutes=16), tick=False):
        assert attempt(client, applicant.username, PASSWORD, ip="192.0.2.77").status_code == 302
        assert signed_in(client, applicant)


# --- the address lock ---------------------------------------------------------------------------------
def test_an_address_is_locked_at_its_own_higher_limit_whatever_the_user_names(client, settings, applicant):
    settings.HDH_LOGIN_IP_FAILURE_LIMIT = 8
    with time_machine.travel(START, tick=False):
        for n in range(7):  # password spraying: one try per user name, never an account's limit
            assert attempt(client, f"victime{n}@example.org", ip="203.0.113.66").status_code == 200
        eighth = attempt(client, "victime7@example.org", ip="203.0.113.66")
        assert eighth.status_code == 429 and "Trop de tentatives de connexion" in eighth.content.decode()
        # The address is locked, even for an account that never failed...
        assert attempt(client, applicant.username, PASSWORD, ip="203.0.113.66").status_code == 429
        assert not signed_in(client, applicant)
        # ...and another address is not.
        assert attempt(client, applicant.username, PASSWORD, ip="203.0.113.67").status_code == 302


# --- the client address -------------------------------------------------------------------------------
def test_a_forwarded_address_is_ignored_without_trusted_proxies(client, settings, applicant):
    settings.HDH_LOGIN_IP_FAILURE_LIMIT = 4
    with time_machine.travel(START, tick=False):
        for n in range(4):  # a new forged X-Forwarded-For each time
            attempt(client, f"victime{n}@example.org", ip="203.0.113.66", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}
        response = attempt(client, applicant.username, PASSWORD, ip="203.0.113.66", HTTP_X_FORWARDED_FOR="192.0.2.99")
        assert response.status_code == 429


def test_a_trusted_proxy_forwards_the_client_address_and_each_client_is_counted_apart(client, settings, applicant):
    settings.HDH_LOGIN_IP_FAILURE_LIMIT = 4
    settings.HDH_TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]
    with time_machine.travel(START, tick=False):
        for n in range(4):  # the attacker forges a left part; the proxy appends the real address
            attempt(client, f"victime{n}@example.org", ip="10.0.0.2",
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.66")
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}
        assert attempt(client, applicant.username, PASSWORD, ip="10.0.0.2",
                       HTTP_X_FORWARDED_FOR="203.0.113.66").status_code == 429
        # Another client behind the same proxy signs in.
        assert attempt(client, applicant.username, PASSWORD, ip="10.0.0.2",
                       HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == 302


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("203.0.113.5", None, "203.0.113.5"),
    ("203.0.113.5", "198.51.100.1", "203.0.113.5"),                    # not a trusted proxy: header ignored
    ("10.0.0.2", None, "10.0.0.2"),                                    # a proxy sending no header
    ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
    ("10.0.0.2", "192.0.2.9, 198.51.100.1", "198.51.100.1"),           # the forged left part is ignored
    ("10.0.0.2", "192.0.2.9, 198.51.100.1, 10.1.2.3", "198.51.100.1"),  # two proxies
    ("10.0.0.2", "10.9.9.9, 10.1.2.3", "10.9.9.9"),                    # from inside: the left-most
    ("10.0.0.2", "198.51.100.1, unknown", "10.0.0.2"),                 # an unreadable hop: the proxy
    ("10.0.0.2", " , ", "10.0.0.2"),
    ("10.0.0.2", "2001:db8::7", "2001:db8::7"),
    ("2001:db8:ffff::1", "198.51.100.1", "198.51.100.1"),              # an IPv6 proxy network
])
def test_the_client_address_is_the_right_most_untrusted_one(settings, remote, forwarded, expected):
    settings.HDH_TRUSTED_PROXIES = [ip_network("10.0.0.0/8"), ip_network("2001:db8:ffff::/48")]
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **extra)
    assert client_ip(request) == expected


def test_the_login_page_still_signs_in_at_once_without_failures(client):
    user = make_user("nouveau@example.org")
    response = client.post(reverse("login"), {"username": "Nouveau@Example.org", "password": PASSWORD})
    assert response.status_code == 302 and signed_in(client, user)
