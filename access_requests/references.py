"""What a request reference may be: one pattern, asked by the model (validator and database
constraint), the history import (line number, nothing written) and the URL patterns (a path
converter, so a reference outside the pattern is a 404 before any view runs).

A reference is 1 to 32 characters: ASCII letters, digits, ``-``, ``_`` and ``.``, starting with
a letter or a digit. No ``/`` (it would break the URLs that carry it), no space, tab or control
character, no ``=``, ``+`` or ``@`` (a spreadsheet would run it as a formula).
"""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

REFERENCE_MAX_LENGTH = 32
# Read the same by Python's re and PostgreSQL's regular expressions (\A and \Z: the whole text,
# a trailing newline included), for the validator, the database check and the URL converter.
REFERENCE_PATTERN = rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{REFERENCE_MAX_LENGTH - 1}}}"
REFERENCE_REGEX = rf"\A{REFERENCE_PATTERN}\Z"
_COMPILED = re.compile(REFERENCE_REGEX)

REFERENCE_RULE = _("1 à 32 caractères : lettres sans accent, chiffres, « - », « _ » ou « . », "
                   "en commençant par une lettre ou un chiffre")

reference_validator = RegexValidator(
    REFERENCE_REGEX, message=format_lazy(_("Référence invalide : {rule}."), rule=REFERENCE_RULE), code="invalid_reference")


def is_valid_reference(text: str) -> bool:
    return bool(_COMPILED.match(text))


class ReferenceConverter:
    """``<reference:reference>`` in URL patterns (registered by AccessRequestsConfig.ready)."""

    regex = REFERENCE_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
