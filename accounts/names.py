"""Organisation names: the one normaliser of sign-up, the forms, the admin and the model.

A name is what people read in lists, emails and the back office, and what a newcomer types to
join colleagues, so it is stored in one canonical form: Unicode NFC, every kind of whitespace a
single space, no control or format character (Unicode category C*: NUL, escapes, bidi overrides,
zero-width characters, private use, unassigned), trimmed. Two names that differ only by case are
the same organisation: ``organisation_name_key`` (case-folded) is unique in the database.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ORGANISATION_NAME_MAX_LENGTH = 200


def normalise_organisation_name(value: str | None) -> str:
    """The canonical form of ``value`` (which may then be empty or too long: see ``clean_organisation_name``)."""
    kept = []
    for char in value or "":
        if char.isspace():
            kept.append(" ")
        elif not unicodedata.category(char).startswith("C"):
            kept.append(char)
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def organisation_name_key(value: str | None) -> str:
    """What two names of one organisation share: the normalised name, case-folded."""
    return unicodedata.normalize("NFC", normalise_organisation_name(value).casefold())


def clean_organisation_name(value: str | None) -> str:
    """The normalised name, or ValidationError when it is empty or longer than the limit (never truncated)."""
    value = value or ""
    # Far too long whatever normalisation removes: refused before it is read character by character.
    name = value if len(value) > 10 * ORGANISATION_NAME_MAX_LENGTH else normalise_organisation_name(value)
    if not name:
        raise ValidationError(_("Indiquez le nom de votre organisation."), code="required")
    if len(name) > ORGANISATION_NAME_MAX_LENGTH:
        raise ValidationError(
            _("Le nom de l'organisation ne doit pas dépasser %(limit)d caractères (il en compte %(length)d)."),
            code="max_length", params={"limit": ORGANISATION_NAME_MAX_LENGTH, "length": len(name)})
    return name
