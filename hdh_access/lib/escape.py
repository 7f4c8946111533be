"""``esc``: Django's ``conditional_escape`` for the code that draws many small values in Python.

Django's ``escape`` is wrapped for lazy strings (``keep_lazy``): each call looks at its arguments
first, which dominates when a page escapes a few thousand values (the queue's rows, the selects'
options). ``esc`` gives the same result: an object with ``__html__`` as it says, anything else
through ``html.escape`` of its text, as Django's ``escape`` does.
"""

from __future__ import annotations

import html
from typing import Any


def esc(value: Any) -> str:
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
