"""Roles: Django groups carrying one permission each, plus the applicant relation.

A user acts as a reviewer role when they hold that role's permission (through its group, or
as a superuser). A data holder's members act only on requests that ask for their datasets.
An applicant acts on the requests of their own organisation.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ObjectDoesNotExist

from access_requests.workflow import TASK_ROLES, Role

# role -> codename of the permission on AccessRequest that grants it
ROLE_PERMISSIONS: dict[str, str] = {
    Role.SECRETARIAT: "act_as_secretariat",
    Role.CESREES: "act_as_cesrees",
    Role.CNIL: "act_as_cnil",
    Role.DATA_HOLDER: "act_as_data_holder",
    Role.PLATFORM: "act_as_platform",
    Role.MANAGEMENT: "view_all_requests",
}
# Reviewer roles can read every request; management reads but never acts.
GROUP_PERMISSIONS: dict[str, list[str]] = {
    role: [codename, "view_all_requests"] for role, codename in ROLE_PERMISSIONS.items()
}
GROUP_PERMISSIONS[Role.ADMINISTRATOR] = [*ROLE_PERMISSIONS.values()]


VIEW_PERMISSION = "access_requests.view_all_requests"


def can_open_backoffice(user) -> bool:
    """Everyone who may read every request (reviewers, management, administrators)."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(VIEW_PERMISSION))


def staff_roles(user) -> frozenset[str]:
    """The back-office roles ``user`` holds through their permissions (superusers: all)."""
    if not can_open_backoffice(user):
        return frozenset()
    roles = {role for role, codename in ROLE_PERMISSIONS.items() if user.has_perm(f"access_requests.{codename}")}
    if user.is_superuser:
        roles.add(Role.ADMINISTRATOR)
    return frozenset(roles)


def sees_every_request(user) -> bool:
    """Everyone in the back office but a member of a data holder with no other role (who reads
    only the requests for their own datasets)."""
    roles = staff_roles(user)
    if Role.ADMINISTRATOR in roles:
        return True
    return bool(roles - {Role.DATA_HOLDER, Role.MANAGEMENT}) or roles == {Role.MANAGEMENT}


def ensure_role_groups(sender=None, **kwargs) -> None:
    """Create one group per role with its permissions (post_migrate; idempotent)."""

    perms = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label="access_requests", codename__in=set(ROLE_PERMISSIONS.values())
        )
    }
    if len(perms) < len(set(ROLE_PERMISSIONS.values())):
        return  # permissions not created yet (first migrate pass)
    for role, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=str(role))
        group.permissions.add(*(perms[c] for c in codenames))


def user_roles(user, request) -> set[str]:
    """Every role ``user`` can act in on ``request`` (an AccessRequest)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    roles: set[str] = set()
    # Administrators (superusers) may act in every role, the applicant's included.
    if user.is_superuser or request.is_applicant(user):
        roles.add(Role.APPLICANT)
    for role, codename in ROLE_PERMISSIONS.items():
        if role == Role.MANAGEMENT or not user.has_perm(f"access_requests.{codename}"):
            continue
        if role == Role.DATA_HOLDER and not user.is_superuser and not request.concerns_holder_of(user):
            continue
        roles.add(role)
    return roles


def task_roles(user, task) -> set[str]:
    """Every role ``user`` can act in on a holder ``task`` (roles that act on tasks only): the
    secretariat and the platform team on every task, a data holder's staff on their own
    holder's tasks (``Profile.data_holder``), a superuser in each."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    roles: set[str] = set()
    for role in TASK_ROLES:
        if not user.has_perm(f"access_requests.{ROLE_PERMISSIONS[role]}"):
            continue
        if role == Role.DATA_HOLDER and not user.is_superuser and holder_of(user) != task.holder_id:
            continue
        roles.add(role)
    return roles


def holder_of(user) -> int | None:
    """The id of the data holder whose staff ``user`` belongs to (``Profile.data_holder``), or None."""
    try:
        profile = user.profile
    except (AttributeError, ObjectDoesNotExist):
        return None
    return profile.data_holder_id if profile is not None else None
