"""Form renderers that draw the commonest widgets in Python, to the byte what Django's templates give.

A back-office filter form has a dozen selects and about sixty options; Django draws each option
through its own template include (``select.html`` includes ``select_option.html``, which includes
``attrs.html``), which was most of the cost of a queue page's form (about 8 ms of CPU a page). The
renderers here draw ``select.html``, ``input.html`` and ``textarea.html`` with f-strings (``esc`` escapes) from the same context
Django's widgets build, and leave every other template, and any widget whose options use another
template, to the template engine. ``tests/lib/test_form_renderers.py`` compares both outputs over
the project's forms and the edge cases (groups, multiple, boolean attributes, escaping).

- ``FastTemplates``: Django's default renderer with that fast path (``FORM_RENDERER``);
- ``FastDsfrTemplates``: django-dsfr's renderer with the same fast path (``hdh_access.lib.dsfr_forms``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.safestring import SafeString, mark_safe
from dsfr.forms import DsfrDjangoTemplates

from hdh_access.lib.escape import esc, shown

OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def attributes(attrs: Mapping[str, Any]) -> str:
    """``attrs.html``: ` name="value"` for each attribute, the name alone for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {esc(name)}")
        else:
            parts.append(f' {esc(name)}="{esc(str(value))}"')
    return "".join(parts)


def draw_select(widget: dict) -> str | None:
    """``select.html`` and its options (None: an option drawn by another template)."""
    parts = [f'<select name="{esc(widget["name"])}"{attributes(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{esc(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION_TEMPLATE:
                return None
            parts.append(f'\n  <option value="{esc(str(option["value"]))}"'
                         f'{attributes(option["attrs"])}>{esc(option["label"])}</option>\n')
            # (the included option template ends with a new line, which Django keeps)
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def draw_input(widget: dict) -> str:
    """``input.html``: type, name, the value when there is one, the attributes."""
    value = "" if widget["value"] is None else f' value="{esc(str(widget["value"]))}"'
    return (f'<input type="{esc(widget["type"])}" name="{esc(widget["name"])}"'
            f'{value}{attributes(widget["attrs"])}>')


def draw_textarea(widget: dict) -> str:
    """``textarea.html``: the value after a new line (which browsers drop), when there is one."""
    value = shown(widget["value"]) if widget["value"] else ""  # {{ widget.value }}: localized, unlike an input's
    return f'<textarea name="{esc(widget["name"])}"{attributes(widget["attrs"])}>\n{value}</textarea>'


# Django's widget templates drawn here: select.html, textarea.html, and input.html with the templates
# that only include it (one per input type). Not the option templates of radio buttons and
# checkboxes: django-dsfr draws its own.
INPUT_TYPES = ("text", "number", "email", "url", "color", "search", "tel", "password", "hidden", "date", "datetime",
               "time")
DRAWN: dict[str, Callable[[dict], str | None]] = {
    "django/forms/widgets/select.html": draw_select,
    "django/forms/widgets/input.html": draw_input,
    **{f"django/forms/widgets/{kind}.html": draw_input for kind in INPUT_TYPES},
    "django/forms/widgets/textarea.html": draw_textarea,
}


class FastPathMixin:
    """``render`` draws the templates of ``DRAWN`` in Python; the engine draws the others."""

    def render(self, template_name: str, context: dict, request=None) -> SafeString:
        draw = DRAWN.get(template_name)
        if draw is not None and "widget" in context:
            html = draw(context["widget"])
            if html is not None:
                return mark_safe(html)
        return super().render(template_name, context, request=request)  # type: ignore[misc]


class FastTemplates(FastPathMixin, DjangoTemplates):
    pass


class FastDsfrTemplates(FastPathMixin, DsfrDjangoTemplates):
    pass
