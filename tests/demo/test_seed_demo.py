import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from access_requests.models import AccessRequest, Event
from delays.models import RequestDelay


@pytest.mark.django_db
def test_seed_demo_creates_accounts_and_requests_and_a_second_run_changes_nothing(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--requests", "60", "--password", "Un-Mot-De-Passe-42")
    out = capsys.readouterr().out
    assert "Un-Mot-De-Passe-42" in out
    user = User.objects.get(username="demandeur@example.org")
    assert user.check_password("Un-Mot-De-Passe-42") and user.profile.organisation is not None
    assert User.objects.get(username="cnam@example.org").profile.data_holder.code == "cnam"
    assert set(User.objects.get(username="cnil@example.org").groups.values_list("name", flat=True)) == {"cnil"}
    assert AccessRequest.objects.count() == 60
    assert AccessRequest.objects.filter(applicant=user).count() == 20
    submitted = Event.objects.filter(to_state="submitted").values("request").distinct().count()
    assert RequestDelay.objects.count() == submitted > 0
    counts = (AccessRequest.objects.count(), Event.objects.count(), RequestDelay.objects.count())

    call_command("seed_demo", "--requests", "60")
    assert (AccessRequest.objects.count(), Event.objects.count(), RequestDelay.objects.count()) == counts
    assert User.objects.get(username="demandeur@example.org").check_password("Un-Mot-De-Passe-42")

    call_command("seed_demo", "--if-empty")
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_makes_no_demo_accounts_when_debug_is_off_unless_forced(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--requests", "10")
    assert not User.objects.filter(username="demandeur@example.org").exists()
    assert AccessRequest.objects.count() == 10
    call_command("seed_demo", "--requests", "10", "--force")
    assert User.objects.filter(username="secretariat@example.org").exists()
