"""``esc``: Django's ``conditional_escape`` for the code that draws many small values in Python.

Django's ``escape`` is wrapped for lazy strings (``keep_lazy``): each call looks at its arguments
first, which dominates when a page escapes a few thousand values (the queue's rows, the selects'
options). ``esc`` gives the same result: an object with ``__html__`` as it says, anything else
through ``html.escape`` of its text, as Django's ``escape`` does. ``shown`` is ``{{ value }}``
itself (Django's own function): what a template draws of a value that may not be text.
"""

from __future__ import annotations

import html
from typing import Any

from django.template import Context
from django.template.base import render_value_in_context


def esc(value: Any) -> str:
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


# Read only (autoescaping, the settings' time zone and localization), so one serves every call.
_CONTEXT = Context()


def shown(value: Any) -> str:
    """What the template engine draws for ``{{ value }}`` (Django's ``render_value_in_context``):
    localized (a number or a date in the active language's format), made text, then escaped."""
    return render_value_in_context(value, _CONTEXT)
