"""Text search helpers shared by the portal and the back office.

``folded(expression)``: the expression without case, and without accents where PostgreSQL has the
``unaccent`` extension installed (checked once per connection alias and cached; an operator
enables it with ``CREATE EXTENSION unaccent``). Elsewhere (SQLite, PostgreSQL without the
extension) it is only upper-cased: a search is then accent-sensitive, never an error.
"""

from __future__ import annotations

import unicodedata

from django.db import connections
from django.db.models import Expression, F, Func
from django.db.models.functions import Upper

_UNACCENT: dict[str, bool] = {}


def has_unaccent(alias: str = "default") -> bool:
    """Whether the database of ``alias`` has PostgreSQL's ``unaccent`` extension (cached)."""
    if alias not in _UNACCENT:
        connection = connections[alias]
        found = False
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'")
                found = cursor.fetchone() is not None
        _UNACCENT[alias] = found
    return _UNACCENT[alias]


def forget_unaccent() -> None:
    """Check the extension again on the next search (tests, after ``CREATE EXTENSION``)."""
    _UNACCENT.clear()


class Unaccent(Func):
    function = "unaccent"


def folded(expression: str | Expression) -> Expression:
    """Upper-cased, and unaccented when the database can: compare folded to folded."""
    source = F(expression) if isinstance(expression, str) else expression
    upper = Upper(source)
    return Unaccent(upper) if has_unaccent() else upper


def folded_text(text: str) -> str:
    """``text`` folded as ``folded`` folds a column, in Python: a plain string Django escapes in a
    ``contains`` lookup (a ``%`` or ``_`` typed by the user matches itself)."""
    upper = text.upper()
    if not has_unaccent():
        return upper
    return "".join(c for c in unicodedata.normalize("NFKD", upper) if not unicodedata.combining(c))
