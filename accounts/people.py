"""A person as pages and emails name them: "Prénom Nom (Organisation)".

Everywhere a user is shown to someone else (the assignee, who did what in the history, a note's
author, who uploaded a document, an organisation's members) the page says their name and what
they belong to: their applicant organisation, or the data holder they work for. The email
address is shown only where one writes to the person (a ``mailto:`` link, the profile page), and
stands in for the name only when the account has none.

``PERSON_RELATIONS``: what a selector joins so that naming a user costs no query
(``related("assignee")`` → ``["assignee__profile__organisation", ...]``).
"""

from __future__ import annotations

from typing import Any

from accounts.models import Profile

PERSON_RELATIONS = ("profile__organisation", "profile__data_holder")


def related(path: str) -> list[str]:
    """The ``select_related`` paths that name the user at ``path`` without a query."""
    return [f"{path}__{relation}" for relation in PERSON_RELATIONS]


def person_name(user: Any) -> str:
    """The user's full name, else their email address, else their user name; "" for None."""
    if user is None:
        return ""
    return (user.get_full_name() or "").strip() or user.email or user.username


def affiliation(user: Any) -> str:
    """The applicant organisation, else the data holder, the user belongs to; "" for none."""
    try:
        profile = user.profile
    except (AttributeError, Profile.DoesNotExist):
        return ""
    if profile is None:
        return ""
    if profile.organisation_id is not None:
        return profile.organisation.name
    if profile.data_holder_id is not None:
        return profile.data_holder.name
    return ""


def display_name(user: Any, *, with_affiliation: bool = True) -> str:
    """"Prénom Nom (Organisation)"; the name alone without an affiliation (or without
    ``with_affiliation``, on a page that already says it); "" for None."""
    name = person_name(user)
    if not name:
        return ""
    where = affiliation(user) if with_affiliation else ""
    return f"{name} ({where})" if where else name
