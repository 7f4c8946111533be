"""Closed dossiers leave the back office's lists HDH_ARCHIVE_AFTER_DAYS after their last event;
the "Archivées" scope shows them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access_requests.workflow import State
from backoffice import selectors
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)

QUEUE = reverse("backoffice:queue")


@pytest.fixture
def ended(make_request):
    """Requests ended 200 days ago (closed, rejected, withdrawn), one ended recently, one open."""
    with time_machine.travel(timezone.now() - dt.timedelta(days=200), tick=False):
        old = {state: make_request(state) for state in (State.CLOSED, State.REJECTED, State.WITHDRAWN)}
        old_open = make_request(State.CESREES_REVIEW)
        materialise_all()
    recent = make_request(State.REJECTED)
    materialise_all()
    return {"old": {r.reference for r in old.values()}, "old_open": old_open.reference, "recent": recent.reference}


def refs(client, **params) -> set[str]:
    response = client.get(QUEUE, params)
    assert response.status_code == 200
    return {row["request"].reference for row in response.context["rows"]}


def test_every_request_leaves_out_the_archived_ones(client, personas, ended):
    client.force_login(personas["secretariat"])
    assert refs(client, scope="all") == {ended["old_open"], ended["recent"]}


def test_the_archived_scope_shows_only_requests_ended_long_ago(client, personas, ended):
    client.force_login(personas["management"])
    response = client.get(QUEUE, {"scope": "archived"})
    assert {row["request"].reference for row in response.context["rows"]} == ended["old"]
    assert "Archivées" in response.content.decode()


def test_the_delay_is_a_setting(client, personas, ended, settings):
    settings.HDH_ARCHIVE_AFTER_DAYS = 365
    client.force_login(personas["secretariat"])
    assert refs(client, scope="archived") == set()
    assert refs(client, scope="all") == {*ended["old"], ended["old_open"], ended["recent"]}


def test_an_open_request_is_never_archived_however_old(client, personas, ended):
    client.force_login(personas["management"])
    assert ended["old_open"] in refs(client, scope="open")
    assert ended["old_open"] not in refs(client, scope="archived")


def test_without_a_delay_row_the_last_change_dates_the_request(make_request, personas):
    with time_machine.travel(timezone.now() - dt.timedelta(days=200), tick=False):
        closed = make_request(State.CLOSED)
    archived = selectors.queue(personas["management"], selectors.QueueFilters(scope=selectors.Scope.ARCHIVED))
    assert [r.reference for r in archived] == [closed.reference]


def test_the_archived_scope_keeps_the_data_holders_visibility(client, personas, ended):
    client.force_login(personas["curie"])  # none of these asks for a Curie dataset
    assert refs(client, scope="archived") == set()
