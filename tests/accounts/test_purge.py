"""Sign-ups never confirmed are deleted after HDH_UNCONFIRMED_ACCOUNT_DAYS (7), with the
organisations they alone created; anything else is kept."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from access_requests import services as request_services
from access_requests.workflow import Role
from accounts import tasks
from accounts.models import MembershipRequest, Organisation, Profile
from accounts.services import purge_unconfirmed_accounts
from catalog.models import DataHolder
from hdh_access.celery import app
from tests.accounts.helpers import ask_to_join, confirm, sign_up
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SIGNED_UP = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
WEEK_LATER = SIGNED_UP + dt.timedelta(days=7, minutes=1)


def signed_up(email: str, organisation: str = "Équipe fantôme", *, at: dt.datetime = SIGNED_UP) -> User:
    with time_machine.travel(at, tick=False):
        return User.objects.get(pk=sign_up(email, organisation).user_id)


def exists(user: User) -> bool:
    return User.objects.filter(pk=user.pk).exists()


def test_an_unconfirmed_sign_up_is_kept_for_seven_days_then_deleted_with_the_organisation_it_created():
    user = signed_up("sonde@attaquant.example")
    organisation = user.profile.organisation
    assert purge_unconfirmed_accounts(now=SIGNED_UP + dt.timedelta(days=6, hours=23)).users == 0
    assert exists(user)
    outcome = purge_unconfirmed_accounts(now=WEEK_LATER)
    assert (outcome.users, outcome.organisations, outcome.kept) == (1, 1, 0)
    assert not exists(user) and not Profile.objects.filter(user_id=user.pk).exists()
    assert not Organisation.objects.filter(pk=organisation.pk).exists()
    assert purge_unconfirmed_accounts(now=WEEK_LATER).users == 0  # idempotent


def test_the_delay_is_a_setting(settings):
    settings.HDH_UNCONFIRMED_ACCOUNT_DAYS = 3
    user = signed_up("sonde@attaquant.example")
    assert purge_unconfirmed_accounts(now=SIGNED_UP + dt.timedelta(days=3, minutes=1)).users == 1
    assert not exists(user)


def test_confirmed_accounts_are_kept_even_when_deactivated_later():
    confirmed = signed_up("confirmee@univ.example", "Équipe A")
    confirm(confirmed.pk)
    deactivated = signed_up("desactivee@univ.example", "Équipe B")
    User.objects.filter(pk=deactivated.pk).update(is_active=False, last_login=SIGNED_UP)  # signed in once
    assert purge_unconfirmed_accounts(now=WEEK_LATER + dt.timedelta(days=365)).users == 0
    assert exists(confirmed) and exists(deactivated)
    assert Organisation.objects.filter(name__in=["Équipe A", "Équipe B"]).count() == 2


def test_accounts_made_by_an_administrator_are_kept(db):
    with time_machine.travel(SIGNED_UP, tick=False):
        staff = make_user("staff@hdh.example", is_active=False, is_staff=True)
        superuser = make_user("root@hdh.example", is_active=False, is_superuser=True)
        reviewer = make_user("cesrees-a-venir@hdh.example", is_active=False)
        reviewer.groups.add(Group.objects.get(name=Role.CESREES))
        holder = make_user("cnam-a-venir@cnam.example", is_active=False,
                           data_holder=DataHolder.objects.get(code="cnam"))
    assert purge_unconfirmed_accounts(now=WEEK_LATER).users == 0
    assert all(exists(user) for user in (staff, superuser, reviewer, holder))


def test_an_unconfirmed_account_with_a_request_is_kept_and_so_is_its_organisation():
    user = signed_up("sonde@attaquant.example")
    request_services.create_draft(actor=user, title="Brouillon")  # PROTECTs its applicant
    outcome = purge_unconfirmed_accounts(now=WEEK_LATER)
    assert (outcome.users, outcome.organisations, outcome.kept) == (0, 0, 1)
    assert exists(user) and Organisation.objects.filter(name="Équipe fantôme").exists()


def test_an_unconfirmed_request_to_join_goes_and_the_organisation_stays(applicant):
    user = signed_up("sonde@attaquant.example", "Inserm U1018")
    assert MembershipRequest.objects.filter(user=user).exists()
    assert purge_unconfirmed_accounts(now=WEEK_LATER).users == 1
    assert not MembershipRequest.objects.exists()
    assert Organisation.objects.filter(name="Inserm U1018").exists()  # not created by sign-up, and has members


def test_an_organisation_created_by_sign_up_stays_while_someone_waits_to_join_it():
    squatter = signed_up("premier@univ.example", "Équipe convoitée")
    with time_machine.travel(SIGNED_UP + dt.timedelta(days=1), tick=False):
        waiting = ask_to_join("vraie@univ.example", "Équipe convoitée")
    outcome = purge_unconfirmed_accounts(now=WEEK_LATER)
    assert (outcome.users, outcome.organisations) == (1, 0)
    assert not exists(squatter)
    assert MembershipRequest.objects.get().pk == waiting.pk  # the secretariat decides it


def test_empty_organisations_made_by_an_administrator_are_kept():
    with time_machine.travel(SIGNED_UP, tick=False):
        Organisation.objects.create(name="CHU de Nantes")
    assert purge_unconfirmed_accounts(now=WEEK_LATER).organisations == 0
    assert Organisation.objects.filter(name="CHU de Nantes").exists()


def test_the_command_and_the_beat_task_call_the_same_purge(capsys):
    first = signed_up("une@attaquant.example", "Équipe 1")
    call_command("purge_unconfirmed_accounts", "--as-of", "2026-03-10")
    assert "1 account(s) unconfirmed after 7 days deleted, 1 empty organisation(s) deleted" in capsys.readouterr().out
    second = signed_up("deux@attaquant.example", "Équipe 2")
    with time_machine.travel(WEEK_LATER, tick=False):
        assert tasks.purge_unconfirmed_accounts.apply().get() == {"users": 1, "organisations": 1, "kept": 0}
    assert not exists(first) and not exists(second)


def test_the_beat_schedule_runs_the_purge_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-unconfirmed-accounts-daily"]
    assert entry["task"] == tasks.purge_unconfirmed_accounts.name and entry["task"] in app.tasks
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {15}


@pytest.mark.parametrize(("value", "message"), [("0", "must be at least 1"), ("a week", "must be an integer")])
def test_a_bad_delay_stops_the_process_at_start_up(value, message):
    environment = {**os.environ, "DEBUG": "true", "HDH_UNCONFIRMED_ACCOUNT_DAYS": value}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=Path(__file__).resolve().parents[2],
                            env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "HDH_UNCONFIRMED_ACCOUNT_DAYS" in result.stderr and message in result.stderr
