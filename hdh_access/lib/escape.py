"""``esc``: Django's ``conditional_escape`` for the code that draws many small values in Python.

Django's ``escape`` is wrapped for lazy strings (``keep_lazy``): each call looks at its arguments
first, which dominates when a page escapes a few thousand values (the queue's rows, the selects'
options). ``esc`` gives the same result: an object with ``__html__`` as it says, anything else
through ``html.escape`` of its text, as Django's ``escape`` does. ``shown`` is ``{{ value }}``
itself: what a template draws of a value that may not be text (a number, a date, a lazy label).
"""

from __future__ import annotations

import html
from typing import Any

from django.utils.formats import localize
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # Django has it; its stubs do not


def esc(value: Any) -> str:
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def shown(value: Any) -> str:
    """What the template engine draws for ``{{ value }}`` with autoescaping: the value localized
    (a number or a date in the active language's format), made text, then escaped; an object that
    is not a string is escaped as text even if it knows its own HTML, as the engine does."""
    value = localize(template_localtime(value))
    if not isinstance(value, str):
        return html.escape(str(value))
    return esc(value)
