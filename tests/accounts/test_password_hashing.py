"""Passwords are hashed with Argon2id (OWASP's parameters); older hashes are upgraded at sign-in."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher, make_password
from django.urls import reverse

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

PROJECT_SETTINGS = importlib.import_module("hdh_access.settings")  # before the suite's fast hasher
OWASP = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture(autouse=True)
def project_hashers(settings):
    settings.PASSWORD_HASHERS = list(PROJECT_SETTINGS.PASSWORD_HASHERS)


def _sign_in(client, user):
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("start")


def test_a_new_password_is_hashed_with_argon2id_and_owasp_parameters():
    user = make_user("porteur@inserm.example")
    assert user.password.startswith(OWASP)
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


@pytest.mark.parametrize("old_hasher", [PBKDF2PasswordHasher, Argon2PasswordHasher],
                         ids=["pbkdf2, Django's default until now", "argon2 with Django's parameters"])
def test_an_older_hash_becomes_argon2id_when_its_user_signs_in(client, old_hasher):
    user = make_user("porteur@inserm.example")
    user.password = old_hasher().encode(PASSWORD, old_hasher().salt())
    user.save(update_fields=["password"])
    assert not user.password.startswith(OWASP)

    _sign_in(client, user)

    user.refresh_from_db()
    assert user.password.startswith(OWASP)
    assert user.check_password(PASSWORD)


def test_a_wrong_password_leaves_an_older_hash_as_it_is(client):
    user = make_user("porteur@inserm.example")
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    before = user.password

    client.post(reverse("login"), {"username": user.email, "password": "pas-le-bon-mot-de-passe"})

    user.refresh_from_db()
    assert user.password == before
