"""A person as pages and emails name them: "Prénom Nom (Organisation)".

Everywhere a user is shown to someone else (the assignee, who did what in the history, a note's
author, who uploaded a document, an organisation's members) the page says their name and what
they belong to: their applicant organisation, or the data holder they work for. The email
address is shown only where one writes to the person (a ``mailto:`` link, the profile page), and
stands in for the name only when the account has none.

``PERSON_RELATIONS``: what a selector joins so that naming a user costs no query
(``related("assignee")`` → ``["assignee__profile__organisation", ...]``).

``attach_people``: the same people read apart, in one small query, and set on the rows. The pages
the load reads most use it for a row's people rather than joining three tables per person into
the row's own query: PostgreSQL plans a query in a time that grows fast with the tables joined
(a request's back-office row and its two people: eleven tables, 3.6 ms of the server's CPU to plan
and run, against 0.4 + 0.2 ms in two queries; docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import ForeignKey, Model

from accounts.models import Profile

PERSON_RELATIONS = ("profile__organisation", "profile__data_holder")


def related(path: str) -> list[str]:
    """The ``select_related`` paths that name the user at ``path`` without a query."""
    return [f"{path}__{relation}" for relation in PERSON_RELATIONS]


def attach_people(rows: Iterable[Model], *fields: str) -> None:
    """Set the users that the foreign keys ``fields`` of ``rows`` name, each read with what names
    them (``PERSON_RELATIONS``), all in one query; a row's empty key stays None. Naming them then
    costs no query, as with ``select_related(*related(field))``, without joining them."""
    keys = [(row, _foreign_key(row, name)) for row in rows for name in fields]
    ids = {getattr(row, field.attname) for row, field in keys} - {None}
    if not ids:
        return
    people = get_user_model()._default_manager.select_related(*PERSON_RELATIONS).in_bulk(ids)
    for row, field in keys:
        person = people.get(getattr(row, field.attname))
        if person is not None:
            field.set_cached_value(row, person)
        elif field.null:  # deleted since the row was read (its key is set to null): shown as nobody
            field.set_cached_value(row, None)


def _foreign_key(row: Model, name: str) -> ForeignKey:
    """The field ``name`` of ``row``: a foreign key to a user's primary key, or TypeError."""
    field = row._meta.get_field(name)
    User = get_user_model()
    if not (isinstance(field, ForeignKey) and field.related_model is User and field.target_field == User._meta.pk):
        raise TypeError(f"{type(row).__name__}.{name} is not a foreign key to a user")
    return field


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
