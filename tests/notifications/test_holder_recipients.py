"""After the decision, a data holder's staff are told of a request only while their task is open."""

from __future__ import annotations

import pytest

from access_requests.models import HolderTask
from access_requests.workflow import HolderTaskState, Role, State
from catalog.models import DataHolder
from notifications.messages import queue_members, role_members
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def spf_staff():
    return make_user("donnees@spf.example", role=Role.DATA_HOLDER, data_holder=DataHolder.objects.get(code="spf"))


def test_before_the_decision_every_holder_of_the_datasets_is_a_member(make_request, personas, spf_staff):
    request = make_request(State.CNIL_REVIEW, codes=("snds", "oscour"))
    assert set(role_members(Role.DATA_HOLDER, request)) == {personas["cnam"], spf_staff}


def test_a_holder_that_delivered_its_task_is_not_told_of_the_later_stages(make_request, personas, spf_staff):
    request = make_request(State.MATCHING, codes=("snds", "oscour"))  # Santé publique France delivered at once
    assert HolderTask.objects.get(request=request, holder__code="spf").state == HolderTaskState.DELIVERED
    assert list(role_members(Role.DATA_HOLDER, request)) == [personas["cnam"]]
    assert spf_staff not in queue_members(request, State.EXTRACTION, exclude_pk=None)
