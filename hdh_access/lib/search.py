"""Text search helpers shared by the portal and the back office.

``folded(expression)``: the expression without case, and without accents where PostgreSQL has the
``unaccent`` extension installed (checked once per connection alias and cached; an operator
enables it with ``CREATE EXTENSION unaccent``); PostgreSQL without it only upper-cases: a search
is then accent-sensitive, never an error. On SQLite, whose UPPER() leaves non-ASCII letters as
they are, it is ``hdh_fold``, a function each new connection gets (``register_sqlite_fold``):
the same folding as ``folded_text``, without case and without accents.
"""

from __future__ import annotations

import unicodedata

from django.db import connection as default_connection
from django.db import connections
from django.db.backends.signals import connection_created
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


class SqliteFold(Func):
    function = "hdh_fold"


def _fold(value: str | None) -> str | None:
    """Upper case without accents (SQLite's ``hdh_fold``; ``folded_text`` for a typed text)."""
    if value is None:
        return None
    return "".join(c for c in unicodedata.normalize("NFKD", value.upper()) if not unicodedata.combining(c))


def register_sqlite_fold(sender, connection, **kwargs) -> None:
    """Give a new SQLite connection the ``hdh_fold`` function (the ``connection_created`` signal)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("hdh_fold", 1, _fold, deterministic=True)


connection_created.connect(register_sqlite_fold, dispatch_uid="hdh_access.lib.search.sqlite_fold")


def folded(expression: str | Expression) -> Expression:
    """Upper-cased, and unaccented when the database can: compare folded to folded."""
    source = F(expression) if isinstance(expression, str) else expression
    if default_connection.vendor == "sqlite":
        return SqliteFold(source)
    upper = Upper(source)
    return Unaccent(upper) if has_unaccent() else upper


def folded_text(text: str) -> str:
    """``text`` folded as ``folded`` folds a column, in Python: a plain string Django escapes in a
    ``contains`` lookup (a ``%`` or ``_`` typed by the user matches itself)."""
    if default_connection.vendor != "sqlite" and not has_unaccent():
        return text.upper()
    return _fold(text) or ""
