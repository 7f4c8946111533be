"""Permissions kept in the shared cache across requests, forgotten whenever who holds what changes
(accounts.permissions): the suite's real Redis as the cache, the real back office as the judge."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests.workflow import Role
from accounts import permissions
from accounts.permissions import CachedPermissionsBackend
from tests.conftest import make_user

User = get_user_model()


def permission_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"auth_permission"' in q["sql"]]


def fresh(user):
    """The user as the next request loads it (no per-request cache)."""
    return User.objects.get(pk=user.pk)


@pytest.mark.django_db
def test_a_second_request_reads_the_permissions_from_the_cache_not_the_database(client, shared_cache):
    user = make_user("instructrice@hdh.example", role=Role.SECRETARIAT)
    client.force_login(user)
    with CaptureQueriesContext(connection) as first:
        assert client.get(reverse("backoffice:queue")).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get(reverse("backoffice:queue")).status_code == 200
    assert len(permission_queries(first)) == 2  # the user's own and their groups'
    assert permission_queries(second) == []
    assert fresh(user).has_perm("access_requests.act_as_secretariat")


@pytest.mark.django_db
def test_without_a_shared_cache_every_request_asks_the_database(client, settings):
    settings.CACHE_URL = ""
    client.force_login(make_user("instructrice@hdh.example", role=Role.SECRETARIAT))
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("backoffice:queue")).status_code == 200
        assert len(permission_queries(queries)) == 2


@pytest.mark.django_db
def test_a_role_taken_away_or_given_counts_at_the_next_request(client, shared_cache):
    user = make_user("instructrice@hdh.example", role=Role.SECRETARIAT)
    client.force_login(user)
    assert client.get(reverse("backoffice:queue")).status_code == 200

    user.groups.remove(Group.objects.get(name=Role.SECRETARIAT))
    assert client.get(reverse("backoffice:queue")).status_code == 403
    assert not fresh(user).has_perm("access_requests.act_as_secretariat")

    user.groups.add(Group.objects.get(name=Role.CESREES))
    assert client.get(reverse("backoffice:queue")).status_code == 200
    assert fresh(user).has_perm("access_requests.act_as_cesrees")


@pytest.mark.django_db
def test_changes_to_a_group_its_permissions_or_a_user_s_own_count_at_once(shared_cache):
    user = make_user("instructrice@hdh.example", role=Role.SECRETARIAT)
    codename = "access_requests.act_as_secretariat"
    permission = Permission.objects.get(codename="act_as_secretariat")
    group = Group.objects.get(name=Role.SECRETARIAT)
    assert fresh(user).has_perm(codename)

    group.permissions.remove(permission)
    assert not fresh(user).has_perm(codename)
    user.user_permissions.add(permission)
    assert fresh(user).has_perm(codename)
    user.user_permissions.clear()
    assert not fresh(user).has_perm(codename)
    group.permissions.add(permission)
    assert fresh(user).has_perm(codename)

    group.delete()  # its links go without m2m_changed
    assert not fresh(user).has_perm(codename)


@pytest.mark.django_db
def test_a_superuser_s_or_an_inactive_user_s_flag_counts_at_once(shared_cache):
    user = make_user("direction@hdh.example")
    assert not fresh(user).has_perm("access_requests.act_as_cnil")
    User.objects.filter(pk=user.pk).update(is_superuser=True)  # no signal: the entry records the flag
    assert fresh(user).has_perm("access_requests.act_as_cnil")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert not fresh(user).has_perm("access_requests.act_as_cnil")


@pytest.mark.django_db(transaction=True)
def test_permissions_read_by_another_process_before_a_change_commits_are_not_kept(shared_cache):
    user = make_user("instructrice@hdh.example", role=Role.SECRETARIAT)
    codename = "access_requests.act_as_secretariat"
    assert fresh(user).has_perm(codename)

    def another_request():
        try:  # its own connection: it sees the membership as committed, not this transaction's change
            assert User.objects.get(pk=user.pk).has_perm(codename)
        finally:
            connection.close()

    with transaction.atomic():
        user.groups.remove(Group.objects.get(name=Role.SECRETARIAT))
        reader = threading.Thread(target=another_request)
        reader.start()
        reader.join()
    # The reader cached the old permissions under the version of the change; the commit moved it on.
    assert not fresh(user).has_perm(codename)


@pytest.mark.django_db
def test_a_lost_version_never_brings_an_old_entry_back(shared_cache):
    from django.core.cache import cache

    user = make_user("instructrice@hdh.example", role=Role.SECRETARIAT)
    codename = "access_requests.act_as_secretariat"
    cache.set(permissions.VERSION_KEY, 0, timeout=None)  # what a counter started again would say
    assert fresh(user).has_perm(codename)  # an entry under version 0
    User.groups.through.objects.filter(user_id=user.pk).delete()  # behind Django's back: no signal
    cache.delete(permissions.VERSION_KEY)  # evicted, or lost with a Redis restarted but for that entry
    assert not fresh(user).has_perm(codename)
    permissions.forget_all()  # a change while the version is missing gives a new one
    assert cache.get(permissions.VERSION_KEY) is not None


@pytest.mark.django_db
def test_the_project_uses_the_cached_backend_after_the_lockout_one(settings):
    assert settings.AUTHENTICATION_BACKENDS[-1] == "accounts.permissions.CachedPermissionsBackend"
    assert issubclass(CachedPermissionsBackend, permissions.ModelBackend)
