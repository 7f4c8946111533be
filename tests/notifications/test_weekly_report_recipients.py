import pytest

from accounts.models import Profile
from accounts.services import can_subscribe_to_weekly_report
from notifications.weekly_report import subscribers


@pytest.mark.django_db
def test_data_holder_staff_never_receive_the_whole_weekly_report(cnam, management, secretariat):
    Profile.objects.filter(user__in=[cnam, management, secretariat]).update(weekly_report=True)
    assert not can_subscribe_to_weekly_report(cnam)
    assert can_subscribe_to_weekly_report(management)
    assert {u.email for u in subscribers()} == {management.email, secretariat.email}
