"""Permissions read from the shared cache across requests, forgotten whenever they change.

Django's ``ModelBackend`` reads a user's permissions with two queries (their own, their groups')
on every request that asks (the header's navigation, the back office's guard): about 2 ms of
CPU and two joins of four tables for the database, on every signed-in page. ``CachedPermissionsBackend``
keeps both sets in the cache (Redis, ``CACHE_URL``), under the user's id and a **version** of all
permissions. Any change to who holds what (a user's groups or permissions, a group's
permissions, a group or a permission saved or deleted) increments the version, once when it
happens and once more when its transaction commits, so an entry computed from the database
before the commit is never read after it. The user's own flags need nothing: the user is read
from the database on each request, an inactive user has no permission (``ModelBackend``), and an
entry records whether it was computed for a superuser. An entry lives
``PERMISSIONS_CACHE_SECONDS`` at most (a change made in SQL behind Django's back).

Only with a shared cache (``CACHE_URL``): a process's own memory cannot hear another process's
change, so without one every request asks the database, as Django does.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

VERSION_KEY = "hdh:permissions:version"
PERMISSIONS_CACHE_SECONDS = 300


def shared_cache() -> bool:
    return bool(settings.CACHE_URL)


def _key(user_id: int) -> str:
    return f"hdh:permissions:{user_id}"


def signed_in_user(backend: ModelBackend, user_id):
    """The user of a session (``get_user`` of the backends that sign people in), with their profile
    in the same query: most signed-in pages read it (the portal's requests, the roles on a
    request). None for an unknown or inactive user, as Django's ``ModelBackend``."""
    User = get_user_model()
    try:
        user = User._default_manager.select_related("profile").get(pk=user_id)
    except User.DoesNotExist:
        return None
    return user if backend.user_can_authenticate(user) else None


class CachedPermissionsBackend(ModelBackend):
    """``ModelBackend`` whose two permission queries are answered from the shared cache, and whose
    user comes with their profile (``signed_in_user``)."""

    def get_user(self, user_id):
        return signed_in_user(self, user_id)

    def get_user_permissions(self, user_obj, obj=None) -> set[str]:
        if self._cacheable(user_obj, obj):
            return self._cached(user_obj, "user")
        return super().get_user_permissions(user_obj, obj)

    def get_group_permissions(self, user_obj, obj=None) -> set[str]:
        if self._cacheable(user_obj, obj):
            return self._cached(user_obj, "group")
        return super().get_group_permissions(user_obj, obj)

    @staticmethod
    def _cacheable(user_obj, obj) -> bool:
        return obj is None and user_obj.is_active and not user_obj.is_anonymous and shared_cache()

    def _cached(self, user_obj, source: str) -> set[str]:
        name = f"_{source}_perm_cache"  # Django's per-request cache, on the user object
        if not hasattr(user_obj, name):
            self._load(user_obj)
        return getattr(user_obj, name)

    def _load(self, user_obj) -> None:
        """Both sets of ``user_obj``'s permissions on the user object, from the cache when its
        entry has the current version, else from the database."""
        found = cache.get_many([VERSION_KEY, _key(user_obj.pk)])
        version = found.get(VERSION_KEY)
        if version is None:  # a new, flushed or evicting cache: a fresh version no entry has
            cache.add(VERSION_KEY, secrets.randbits(62), timeout=None)
            version = cache.get(VERSION_KEY)
        entry = found.get(_key(user_obj.pk))
        if entry is not None and entry[0] == version and entry[1] == user_obj.is_superuser:
            user_obj._user_perm_cache, user_obj._group_perm_cache = set(entry[2]), set(entry[3])
            return
        # Django's queries, which also fill the per-request cache. Stored under the version read
        # *before* them: a change committed meanwhile has moved the version on, and this entry is
        # never read.
        found_sets = (super().get_user_permissions(user_obj), super().get_group_permissions(user_obj))
        cache.set(_key(user_obj.pk), (version, user_obj.is_superuser, *map(frozenset, found_sets)),
                  PERMISSIONS_CACHE_SECONDS)


def forget_all() -> None:
    """A new version of all permissions: every entry computed before is ignored."""
    if not shared_cache():
        return
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version (a new, flushed or evicting cache): a fresh one no entry has
        cache.add(VERSION_KEY, secrets.randbits(62), timeout=None)


def _changed(**kwargs) -> None:
    if kwargs.get("action", "post_").startswith("pre_"):  # m2m_changed: once the links have changed
        return
    forget_all()
    transaction.on_commit(forget_all)


def connect() -> None:
    """Forget the cached permissions on every change that can alter them (accounts.apps)."""
    User = get_user_model()
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"hdh-permissions-{through.__name__}")
    # Deleting a group or a permission removes its links without m2m_changed.
    for model in (Group, Permission):
        post_save.connect(_changed, sender=model, dispatch_uid=f"hdh-permissions-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"hdh-permissions-delete-{model.__name__}")
