"""``translated(labels)``: a table of labels (lazy translations) made text once, in the active
language. A page, a file or an email that shows a label on every row looks it up in this table
instead of translating it again for each row (``str()`` of a lazy translation looks up the
catalogue at each call, and a choice's ``.label`` builds the enum's member first)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def translated(labels: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, str]:
    """``{code: str(label)}`` of a mapping or of (code, label) pairs (a ``TextChoices.choices``)."""
    pairs = labels.items() if isinstance(labels, Mapping) else labels
    return {code: str(label) for code, label in pairs}
