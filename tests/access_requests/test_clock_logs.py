"""The clock logs of a few requests come in one plain query; those of many are streamed through a
server-side cursor (access_requests.selectors.clock.clock_logs), and both read the same logs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access_requests.selectors import clock
from access_requests.workflow import State

pytestmark = pytest.mark.django_db


def logs_and_queries(request_ids):
    with CaptureQueriesContext(connection) as queries:
        logs = clock.clock_logs(request_ids)
    return ({pk: (log.transitions, log.extensions, log.reasons, log.urgent_entries) for pk, log in logs.items()},
            [q["sql"] for q in queries.captured_queries])


def test_a_few_requests_logs_come_in_one_plain_query_and_many_are_streamed(make_request, monkeypatch):
    requests = [make_request(State.CESREES_REVIEW), make_request(State.AWAITING_APPLICANT), make_request()]
    ids = [r.pk for r in requests]
    few, plain = logs_and_queries(ids)
    assert len(plain) == 1 and not plain[0].startswith("DECLARE")
    assert set(few) == {requests[0].pk, requests[1].pk, requests[2].pk}
    assert len(few[requests[0].pk][0]) >= 2  # submitted, then the CESREES

    monkeypatch.setattr(clock, "STREAM_ABOVE", 2)  # as many as more than STREAM_ABOVE
    many, streamed = logs_and_queries(ids)
    assert many == few
    if connection.vendor == "postgresql":
        assert any(sql.startswith("DECLARE") for sql in streamed)
