"""Queries a request's page no longer makes (issue 16: the request's pages are the load's most
read), and the shared cache of the forecast baseline that the pages read.

- the session's user comes with their profile (accounts.permissions.signed_in_user);
- the back office's request page reads its delay row with the request, the datasets' holders with
  the datasets, and the workflow's facts from the datasets already read;
- with a shared cache (CACHE_URL) the pages read the baseline from it; a committed change of the
  baseline replaces it, and a page that read the old rows just before cannot put them back.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access_requests import services
from access_requests.workflow import Role, State
from accounts.people import display_name
from accounts.permissions import CachedPermissionsBackend, signed_in_user
from delays import materialise
from delays.materialise import BASELINE_CACHE_KEY, baseline_medians, refresh_baseline, shown_baseline_medians
from delays.models import DelayBaseline
from tests.conftest import make_user, store_baseline

pytestmark = pytest.mark.django_db

User = get_user_model()


def tables_read(queries) -> list[str]:
    """The first table each query reads from (FROM "..."), in order."""
    out = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if ' FROM "' in sql:
            out.append(sql.split(' FROM "', 1)[1].split('"', 1)[0])
    return out


def test_the_sessions_user_comes_with_their_profile(personas):
    applicant = personas["applicant"]
    with CaptureQueriesContext(connection) as queries:
        user = signed_in_user(CachedPermissionsBackend(), applicant.pk)
        assert user is not None
        assert user.profile.organisation_id == applicant.profile.organisation_id
    assert len(queries) == 1
    applicant.is_active = False
    applicant.save(update_fields=["is_active"])
    assert signed_in_user(CachedPermissionsBackend(), applicant.pk) is None
    assert signed_in_user(CachedPermissionsBackend(), 10**9) is None


def test_a_user_without_a_profile_is_signed_in_and_has_none(db):
    user = User.objects.create_user("sans-profil@hdh.example", "sans-profil@hdh.example", "x")
    with CaptureQueriesContext(connection) as queries:
        loaded = signed_in_user(CachedPermissionsBackend(), user.pk)
        assert loaded is not None and not hasattr(loaded, "profile")
    assert len(queries) == 1


def test_the_back_office_request_page_reads_each_thing_once(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    client.get(reverse("backoffice:detail", args=[request.reference]))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("backoffice:detail", args=[request.reference]))
    assert page.status_code == 200
    tables = tables_read(queries)
    for table in ("access_requests_profile", "access_requests_requestdelay", "catalog_dataholder"):
        assert table not in tables, (table, tables)  # read with the user, the request, its datasets
    assert tables.count("catalog_dataset") == 1, tables  # the datasets with their holders, for all
    # The session's user, the request's people (read apart: test below), the team that may be assigned.
    assert tables.count("auth_user") == 3


def people_joined(queries) -> list[str]:
    """The queries that join a request's applicant or assignee (whatever table they read first)."""
    join = re.compile(r'JOIN "auth_user"(?: T\d+)? ON \("access_requests_accessrequest"\."(?:applicant|assignee)_id"')
    return [q["sql"] for q in queries.captured_queries if join.search(q["sql"])]


def test_the_pages_read_a_requests_people_apart_in_one_query(client, personas, make_request):
    """A request's row is read without joining its people (three tables each, which PostgreSQL
    takes long to plan); its applicant and assignee come in one small query, named on the page."""
    request = make_request(State.SUBMITTED)
    applicant, secretariat = personas["applicant"], personas["secretariat"]
    User.objects.filter(pk=applicant.pk).update(first_name="Marie", last_name="Curie")
    assignee = make_user("anne@hdh.example", role=Role.SECRETARIAT, first_name="Anne", last_name="D'Arc")
    services.assign(request_id=request.pk, actor=secretariat, assignee=assignee)
    applicant.refresh_from_db()
    pages = [  # who reads, the page, who it names, and where
        (secretariat, reverse("backoffice:detail", args=[request.reference]),
         [(applicant, "<dt>Porteur de projet</dt><dd>{}"), (assignee, "<p>{}</p>")]),
        (secretariat, reverse("backoffice:queue"), [(assignee, "<td>{}</td>")]),
        (applicant, reverse("portal:detail", args=[request.reference]), [(applicant, "<dt>Porteur du projet</dt><dd>{}")]),
    ]
    for user, url, named in pages:
        client.force_login(user)
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url)
        assert page.status_code == 200
        assert people_joined(queries) == [], url
        wanted = {person.pk for person, _where in named}
        read = [{int(pk) for pk in match.group(1).split(",")} for q in queries.captured_queries
                if (match := re.search(r'WHERE "auth_user"\."id" IN \(([\d, ]+)\)$', q["sql"]))]
        assert wanted in read, (url, read)  # the request's people, all in one query
        text = html.unescape(page.content.decode())
        for person, where in named:
            assert where.format(display_name(person)) in text, (url, where.format(display_name(person)))


def test_the_portal_request_page_does_not_read_the_users_profile_again(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    applicant = personas["applicant"]
    client.force_login(applicant)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("portal:detail", args=[request.reference])).status_code == 200
    own_profile = [q["sql"] for q in queries.captured_queries
                   if q["sql"].split(' FROM "', 1)[-1].startswith("access_requests_profile")
                   and f'"user_id" = {applicant.pk}' in q["sql"]]
    assert own_profile == []  # it came with the user


@pytest.mark.django_db(transaction=True)  # pages run outside a transaction
def test_with_a_shared_cache_the_pages_read_the_baseline_once(client, personas, make_request, shared_cache):
    store_baseline({"submitted": 7.0})  # committed: its hook put it in the cache
    assert cache.get(BASELINE_CACHE_KEY)[1] == baseline_medians()
    materialise.forget_shown_baseline()  # as after an eviction or a restart of Redis
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    url = reverse("backoffice:detail", args=[request.reference])
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    with CaptureQueriesContext(connection) as second:
        client.get(url)
    assert "access_requests_delaybaseline" in tables_read(first)
    assert "access_requests_delaybaseline" not in tables_read(second)
    assert shown_baseline_medians() == baseline_medians()


@pytest.mark.django_db(transaction=True)  # outside a transaction: only CACHE_URL decides
def test_without_a_shared_cache_the_pages_read_the_database(settings):
    settings.CACHE_URL = ""
    store_baseline({"submitted": 7.0})
    cache.set(BASELINE_CACHE_KEY, (None, {True: {"submitted": 99.0}, False: {}}))  # never read without CACHE_URL
    try:
        assert shown_baseline_medians() == baseline_medians()
    finally:
        cache.delete(BASELINE_CACHE_KEY)


def _shown_submitted() -> float:
    return shown_baseline_medians()[True]["submitted"]


@pytest.mark.django_db(transaction=True)
def test_a_committed_baseline_replaces_the_cached_one_and_a_late_reader_cannot_put_the_old_back(shared_cache):
    store_baseline({"submitted": 7.0})
    assert _shown_submitted() == pytest.approx(7.0)
    old = cache.get(BASELINE_CACHE_KEY)
    assert old is not None  # cached now
    with transaction.atomic():
        row = DelayBaseline.objects.get(key="target")
        row.medians = {**row.medians, "submitted": 12.0}
        row.save()
        # Inside the change's transaction: the database's rows, and the cache left alone.
        assert _shown_submitted() == pytest.approx(12.0)
        assert cache.get(BASELINE_CACHE_KEY) is None
    assert cache.get(BASELINE_CACHE_KEY)[1][True]["submitted"] == pytest.approx(12.0)  # set at the commit
    cache.add(BASELINE_CACHE_KEY, old, 600)  # a page that read the old rows before the commit
    assert _shown_submitted() == pytest.approx(12.0)


@pytest.mark.django_db(transaction=True)
def test_a_change_rolled_back_never_reaches_the_cache(shared_cache):
    store_baseline({"submitted": 7.0})
    assert _shown_submitted() == pytest.approx(7.0)
    with pytest.raises(RuntimeError), transaction.atomic():
        row = DelayBaseline.objects.get(key="target")
        row.medians = {**row.medians, "submitted": 12.0}
        row.save()
        assert _shown_submitted() == pytest.approx(12.0)  # read in the transaction, not cached
        raise RuntimeError
    assert cache.get(BASELINE_CACHE_KEY) is None
    assert _shown_submitted() == pytest.approx(7.0)
    with pytest.raises(RuntimeError), transaction.atomic():
        refresh_baseline()  # no delivered request: empty medians
        raise RuntimeError
    assert _shown_submitted() == pytest.approx(7.0)


@pytest.mark.django_db(transaction=True)
def test_the_late_hook_of_an_older_change_keeps_the_newer_baseline(shared_cache):
    store_baseline({"submitted": 7.0})
    newer = (timezone.now() + dt.timedelta(minutes=1), {True: {"submitted": 12.0}, False: {}})
    cache.set(BASELINE_CACHE_KEY, newer, 600)
    materialise._cache_committed_baseline()  # the hook of a change stamped before it
    assert cache.get(BASELINE_CACHE_KEY) == newer
