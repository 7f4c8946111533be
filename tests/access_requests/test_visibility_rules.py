"""Who reads a request as its applicant (access_requests.visibility.applicant_side, a queryset) and
who may act as its applicant (AccessRequest.is_applicant, per request in Python, for the role checks)
state one condition twice: they must agree for every persona."""

from __future__ import annotations

import pytest

from access_requests.visibility import applicant_side
from access_requests.workflow import State

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.CONTRACTING])
def test_reading_and_acting_as_the_applicant_agree_for_every_persona(make_request, personas, state):
    request = make_request(state)
    agreed = {name: (request.is_applicant(user), applicant_side(user).filter(pk=request.pk).exists())
              for name, user in personas.items()}
    assert all(acting == reading for acting, reading in agreed.values()), agreed
    assert agreed["applicant"] == agreed["colleague"] == (True, True)
    assert agreed["outsider"] == agreed["superuser"] == (False, False)
