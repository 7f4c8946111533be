"""A figure as pages and emails print it, in the active language."""

from __future__ import annotations

from django.utils.formats import number_format

DASH = "—"


def figure(value: float | None, digits: int = 0) -> str:
    """``value`` rounded to ``digits`` decimals, grouped (« 12 345,7 »); a dash for None. Rounded
    first: Django's number_format cuts a float's extra decimals instead of rounding them."""
    return DASH if value is None else number_format(round(value, digits), digits, force_grouping=True)
