"""Writes of the back office's own records: a reviewer's saved queue filters.

Same shape as every service: keyword-only arguments, the ``actor`` explicit, one transaction. A
reviewer only ever reaches their own filters: another user's filter is not found (404), never
refused (403), so its existence is not disclosed.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from access_requests.roles import can_open_backoffice
from backoffice.models import NAME_MAX_LENGTH, QUERY_MAX_LENGTH, SavedFilter
from hdh_access.lib.errors import ActionNotPermitted, InvalidInput, NotFound


def _name(value: str) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise InvalidInput(_("Donnez un nom à ce filtre."))
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(_("Le nom d'un filtre ne dépasse pas %(n)d caractères.") % {"n": NAME_MAX_LENGTH})
    return name


def _duplicate(name: str) -> InvalidInput:
    return InvalidInput(_("Vous avez déjà un filtre nommé « %(name)s » : choisissez un autre nom.") % {"name": name})


def _own(actor, filter_id: int) -> SavedFilter:
    row = SavedFilter.objects.select_for_update().filter(user_id=actor.pk, pk=filter_id).first()
    if row is None:
        raise NotFound(_("Filtre introuvable."))
    return row


def save_filter(*, actor, name: str, query: str) -> SavedFilter:
    """Save the queue's filters ``query`` (forms.normalised_query: the validated form only) under
    ``name``, unique among ``actor``'s filters."""
    if not can_open_backoffice(actor):
        raise ActionNotPermitted(_("Seuls les instructeurs enregistrent des filtres."))
    name = _name(name)
    if len(query) > QUERY_MAX_LENGTH:
        raise InvalidInput(_("Ces filtres sont trop longs pour être enregistrés."))
    try:
        with transaction.atomic():
            return SavedFilter.objects.create(user=actor, name=name, query=query)
    except IntegrityError:
        raise _duplicate(name) from None


def rename_filter(*, actor, filter_id: int, name: str) -> SavedFilter:
    name = _name(name)
    try:
        with transaction.atomic():
            row = _own(actor, filter_id)
            row.name = name
            row.save(update_fields=["name"])
    except IntegrityError:
        raise _duplicate(name) from None
    return row


def delete_filter(*, actor, filter_id: int) -> str:
    """Delete one of ``actor``'s filters; its name."""
    with transaction.atomic():
        row = _own(actor, filter_id)
        name = row.name
        row.delete()
    return name
