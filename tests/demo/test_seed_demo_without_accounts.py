"""seed_demo with DEBUG off: the dossiers, and no account with a known password unless forced."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from access_requests.models import AccessRequest, Event
from access_requests.workflow import InformationReason, Role
from demo.management.commands.seed_demo import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_no_demo_accounts_when_debug_is_off_unless_forced(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--requests", "10")
    assert not User.objects.filter(username__endswith="@example.org").exists()
    assert AccessRequest.objects.count() > 10  # the demo's scenarios as well
    # The secretariat's request for information is made all the same, by the system.
    assert Event.objects.filter(action="request_information", actor=None, role=Role.SYSTEM,
                                payload__reason=InformationReason.INCOMPLETE).exists()
    count = AccessRequest.objects.count()

    call_command("seed_demo", "--requests", "10", "--force")
    assert User.objects.get(username="secretariat@example.org").check_password(DEFAULT_PASSWORD)
    assert AccessRequest.objects.count() == count
