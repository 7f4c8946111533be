"""Accounts: sign-up with email confirmation, login lockout, password reset, profile."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from accounts.models import Organisation, Profile
from hdh_access.lockout import wait_after
from notifications.models import OutboxMessage, OutboxStatus
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Une-Phrase-De-Passe-Solide-7"


def _sign_up_data(**overrides) -> dict:
    data = {
        "email": "Marie.Curie@Inserm.example", "first_name": "Marie", "last_name": "Curie",
        "organisation": "Inserm U1018", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


def _link(message) -> str:
    return re.search(r"https?://[^\s]+", message.body).group(0)


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks):
    def post(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("accounts:signup"), _sign_up_data(**overrides))
    return post


# --- sign-up and confirmation ------------------------------------------------------------------------
def test_sign_up_creates_an_inactive_account_and_mails_a_confirmation_link(sign_up):
    response = sign_up(organisation="  Institut   Pasteur ")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:signup_done")
    user = User.objects.get(username="marie.curie@inserm.example")
    assert not user.is_active and user.email == "marie.curie@inserm.example" and user.check_password(NEW_PASSWORD)
    assert user.profile.organisation == Organisation.objects.get(name="Institut Pasteur")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["marie.curie@inserm.example"] and "Confirmez votre adresse" in message.subject
    assert "/accounts/confirm/" in _link(message)
    assert message.alternatives and _link(message) in message.alternatives[0][0]


def test_the_confirmation_link_shows_a_button_and_activates_the_account_on_post(client, sign_up):
    sign_up(organisation="Institut Pasteur")
    path = _path(_link(mail.outbox[0]))
    page = client.get(path)
    assert page.status_code == 200 and "Confirmer mon adresse" in page.content.decode()
    assert not User.objects.get(username="marie.curie@inserm.example").is_active  # a GET changes nothing
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == reverse("portal:list")
    user = User.objects.get(username="marie.curie@inserm.example")
    assert user.is_active
    assert client.get(reverse("portal:list")).status_code == 200  # signed in
    assert client.post(path).status_code == 400  # signed in since: the link no longer works


def test_a_forged_or_broken_confirmation_link_activates_nothing(client, sign_up):
    sign_up(organisation="Institut Pasteur")
    path = _path(_link(mail.outbox[0]))
    forged = path.rsplit("/", 2)[0] + "/abc-123/"
    assert client.get(forged).status_code == 400
    assert client.post(forged).status_code == 400
    assert client.post("/accounts/confirm/%%%/x/").status_code in (400, 404)
    assert not User.objects.get(username="marie.curie@inserm.example").is_active


def test_an_unconfirmed_account_cannot_sign_in(client, sign_up):
    sign_up(organisation="Institut Pasteur")
    response = client.post(reverse("login"), {"username": "marie.curie@inserm.example", "password": NEW_PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_sign_up_with_an_address_that_has_an_account_looks_the_same_and_mails_the_owner(sign_up, applicant):
    first = sign_up(email="other.person@elsewhere.example", organisation="Ailleurs")
    mail.outbox.clear()
    again = sign_up(email="PORTEUR@inserm.example", password1=NEW_PASSWORD, password2=NEW_PASSWORD)
    assert (again.status_code, again["Location"]) == (first.status_code, first["Location"])
    assert User.objects.filter(email__iexact="porteur@inserm.example").count() == 1
    applicant.refresh_from_db()
    assert applicant.check_password(PASSWORD)  # nothing changed
    assert len(mail.outbox) == 1 and "déjà un compte" in mail.outbox[0].subject
    assert "/accounts/password-reset/" in mail.outbox[0].body


def test_signing_up_again_before_confirming_sends_a_new_link(sign_up):
    sign_up(organisation="Institut Pasteur")
    sign_up(organisation="Institut Pasteur", first_name="Autre")
    assert User.objects.filter(username="marie.curie@inserm.example").count() == 1
    assert [m.subject for m in mail.outbox].count(mail.outbox[0].subject) == 2
    assert User.objects.get(username="marie.curie@inserm.example").first_name == "Marie"


def test_naming_an_existing_organisation_at_sign_up_asks_to_join_it_even_from_its_mail_domain(sign_up, applicant):
    # The old rule let a same-domain address in directly; now every newcomer waits for approval
    # (tests/accounts/test_signup_join.py).
    response = sign_up(email="nouvelle@inserm.example", organisation="inserm  u1018")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:signup_done")
    user = User.objects.get(username="nouvelle@inserm.example")
    assert user.profile.organisation is None
    assert user.membership_requests.get().organisation == applicant.profile.organisation
    assert Organisation.objects.count() == 1
    assert "déjà inscrite" in mail.outbox[0].body and "Inserm U1018" in mail.outbox[0].body


def test_a_sign_up_form_with_errors_keeps_what_was_typed_and_creates_nothing(sign_up):
    response = sign_up(password2="autre chose", organisation="Institut Pasteur")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Marie.Curie@Inserm.example" in html and "Curie" in html and "Institut Pasteur" in html
    assert "ne sont pas identiques" in html
    assert NEW_PASSWORD not in html
    assert not User.objects.exists() and mail.outbox == []


def test_a_weak_password_is_refused(sign_up):
    response = sign_up(password1="12345678", password2="12345678", organisation="Institut Pasteur")
    assert response.status_code == 400 and not User.objects.exists()


# --- login lockout -------------------------------------------------------------------------------------
def test_repeated_failed_logins_lock_the_account_out_for_a_while(client, applicant, settings):
    """The growing wait between failures and the address rule: tests/accounts/test_lockout.py."""
    url = reverse("login")
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        for n in range(1, settings.AXES_FAILURE_LIMIT):
            response = client.post(url, {"username": applicant.username, "password": "mauvais"})
            assert response.status_code == 200
            clock.shift(wait_after(n))  # each attempt after the wait its failures asked for
        locked = client.post(url, {"username": applicant.username, "password": "mauvais"})
        assert locked.status_code == 429 and "Trop de tentatives" in locked.content.decode()
        right = client.post(url, {"username": applicant.username, "password": PASSWORD})
        assert right.status_code == 429 and "_auth_user_id" not in client.session
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 16, tzinfo=dt.UTC), tick=False):
        after = client.post(url, {"username": applicant.username, "password": PASSWORD})
        assert after.status_code == 302 and client.session["_auth_user_id"] == str(applicant.pk)


def test_a_password_reset_token_is_refused_at_the_confirmation_url(client, sign_up):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    sign_up(organisation="Institut Pasteur")
    user = User.objects.get(username="marie.curie@inserm.example")
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    reset_token = default_token_generator.make_token(user)
    path = reverse("accounts:confirm", kwargs={"uidb64": uidb64, "token": reset_token})
    assert client.post(path).status_code == 400
    user.refresh_from_db()
    assert not user.is_active
    assert client.get(reverse("portal:list")).status_code == 302  # not signed in


def test_a_confirmation_token_is_refused_at_the_password_reset_url(client, applicant):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from accounts.services import email_confirmation_token

    uidb64 = urlsafe_base64_encode(force_bytes(applicant.pk))
    token = email_confirmation_token.make_token(applicant)
    page = client.get(reverse("accounts:password_reset_confirm", args=[uidb64, token]), follow=True)
    assert page.status_code == 200 and not page.context["validlink"]
    page = client.post(reverse("accounts:password_reset_confirm", args=[uidb64, "set-password"]),
                       {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    applicant.refresh_from_db()
    assert not applicant.check_password(NEW_PASSWORD)


# --- password reset -----------------------------------------------------------------------------------
def test_password_reset_mails_a_link_that_sets_a_new_password(client, applicant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": "Porteur@Inserm.example"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    # Through the outbox, like every email: a row, sent after commit.
    row = OutboxMessage.objects.get(to=applicant.email)
    assert row.status == OutboxStatus.SENT and row.key.startswith("account:password_reset:")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [applicant.email]
    page = client.get(_path(_link(mail.outbox[0])), follow=True)
    assert page.status_code == 200 and page.context["validlink"]
    done = client.post(page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("accounts:password_reset_complete")
    applicant.refresh_from_db()
    assert applicant.check_password(NEW_PASSWORD)


def test_an_account_without_a_password_sets_one_by_the_reset_link(client, applicant,
                                                                 django_capture_on_commit_callbacks):
    applicant.set_unusable_password()  # as an account made by a ProConnect sign-in
    applicant.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": applicant.email})
    assert len(mail.outbox) == 1
    page = client.get(_path(_link(mail.outbox[0])), follow=True)
    assert page.context["validlink"]
    client.post(page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    applicant.refresh_from_db()
    assert applicant.check_password(NEW_PASSWORD)


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, applicant,
                                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": "personne@nulle-part.example"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == [] and not OutboxMessage.objects.exists()


def test_the_password_pages_render(client, applicant):
    assert client.get(reverse("accounts:password_reset")).status_code == 200
    assert client.get(reverse("accounts:password_reset_done")).status_code == 200
    assert client.get(reverse("accounts:password_reset_complete")).status_code == 200
    assert client.get(reverse("accounts:password_reset_confirm", args=["MQ", "bad-token"])).status_code == 200
    assert client.get(reverse("accounts:password_change")).status_code == 302
    client.force_login(applicant)
    assert client.get(reverse("accounts:password_change")).status_code == 200


# --- profile ------------------------------------------------------------------------------------------
def test_the_profile_sets_the_language_and_switches_the_interface(client, applicant):
    client.force_login(applicant)
    page = client.get(reverse("accounts:profile"))
    assert page.status_code == 200 and "weekly_report" not in page.context["form"].fields
    assert "Inserm U1018" in page.content.decode()
    response = client.post(reverse("accounts:profile"), {"language": "en", "weekly_report": "on"})
    assert response.status_code == 302
    profile = Profile.objects.get(user=applicant)
    assert profile.language == "en" and profile.weekly_report is False
    assert response.cookies["django_language"].value == "en"


def test_reviewers_and_management_subscribe_to_the_weekly_report(client, management):
    client.force_login(management)
    assert "weekly_report" in client.get(reverse("accounts:profile")).context["form"].fields
    client.post(reverse("accounts:profile"), {"language": "fr", "weekly_report": "on"})
    assert Profile.objects.get(user=management).weekly_report is True
    client.post(reverse("accounts:profile"), {"language": "fr"})
    assert Profile.objects.get(user=management).weekly_report is False


def test_an_unknown_language_is_refused(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("accounts:profile"), {"language": "de"})
    assert response.status_code == 400 and Profile.objects.get(user=applicant).language == "fr"


def test_a_user_without_profile_gets_one_when_saving_preferences(client, db):
    user = User.objects.create_user(username="admin@example.org", email="admin@example.org", password=PASSWORD)
    client.force_login(user)
    assert client.get(reverse("accounts:profile")).status_code == 200
    client.post(reverse("accounts:profile"), {"language": "en"})
    assert Profile.objects.get(user=user).language == "en"


def test_anonymous_visitors_of_the_profile_are_sent_to_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_signed_in_user_opening_sign_up_goes_to_the_portal(client, db):
    client.force_login(make_user("x@example.org"))
    assert client.get(reverse("accounts:signup"))["Location"] == reverse("portal:list")


def test_the_home_page_offers_sign_up(client, db):
    assert reverse("accounts:signup") in client.get("/").content.decode()


def test_account_forms_refuse_a_post_without_csrf_token(applicant):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("accounts:signup"), _sign_up_data(organisation="Ailleurs")).status_code == 403
    assert client.post(reverse("accounts:password_reset"), {"email": applicant.email}).status_code == 403
    assert client.post(reverse("login"), {"username": applicant.username, "password": PASSWORD}).status_code == 403
    client.force_login(applicant)
    assert client.post(reverse("accounts:profile"), {"language": "en"}).status_code == 403
    assert not User.objects.filter(username="marie.curie@inserm.example").exists()
    assert Profile.objects.get(user=applicant).language == "fr" and mail.outbox == []
