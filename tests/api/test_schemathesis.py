"""Schemathesis against the API's own schema (/api/schema/): every operation, generated valid
and invalid inputs, through the WSGI application in the test's transaction. No 500, every
status, content type, header and body as the schema declares them, invalid input refused.

One check is left out: ``positive_data_acceptance`` (any input the schema allows is accepted).
The schema says the types of the fields; the workflow's rules (which action now, which fields it
needs, an ``If-Match`` that is current) refuse most such inputs with 400, 409 or 412, as they
should, and the schema declares those answers."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from access_requests import services
from access_requests.workflow import State
from api.throttling import PerTokenThrottle
from tests.api.conftest import token_for


@pytest.fixture
def api_schema(db, personas, make_request, monkeypatch):
    # Data for the operations to find: requests along the path, a message and a holder task.
    for state in (State.DRAFT, State.SUBMITTED, State.CONTRACTING, State.DELIVERED):
        request = make_request(state)
    services.post_message(request_id=request.pk, actor=personas["platform"], body="Livraison faite")
    monkeypatch.setattr(PerTokenThrottle, "THROTTLE_RATES", {"api": "100000/min"})
    cache.clear()
    # As Django's test client does: the WSGI handler must not close the test's connection (and
    # its transaction) at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def superuser_token(personas):
    return token_for(personas["superuser"], "write")


# schemathesis' pytest plugin (schema.parametrize) renames pytest's nodes through an attribute
# pytest 9 no longer has; the operations are run here one by one through hypothesis instead.
@pytest.mark.parametrize("mode", list(GenerationMode))
def test_every_operation_answers_as_its_schema_says(api_schema, superuser_token, mode):
    headers = {"Authorization": f"Bearer {superuser_token}"}
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as failure:  # every operation's failure, not only the first
            failures.append(f"{operation.label}: {failure}")
    assert operations >= 15
    assert failures == []
