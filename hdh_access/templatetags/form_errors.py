"""How a form with errors shows them (RGAA 11.10, 11.11): ``{% error_summary form %}`` and
``{% error_title_prefix %}``.

A template builtin (settings.TEMPLATES), so a template needs no ``{% load %}``:

- ``{% error_summary form %}``, first thing inside a ``<form>``: when the form has errors, a DSFR
  error alert listing them, each a link to its field (errors about no one field, and those of a
  hidden field, link to the form's first field). static/hdh/error-summary.js focuses it when
  the page loads. The fields themselves carry ``aria-invalid`` and an ``aria-describedby``
  naming their message (the DSFR's field templates, the back office's ``{% field_group %}``, accounts/login.html).
- ``{% error_title_prefix %}``, in the page's ``<title>`` (templates/base.html): "Erreur : " when
  the page answers a posted form that has errors. Any form of the template's context counts,
  and lists of forms (the back office's action forms), so no page has to say which one it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms, template
from django.utils.translation import gettext as _

register = template.Library()

# Widgets drawn as a group of inputs: the error links to the first one (``<id>_0``).
GROUPED_WIDGETS = (forms.RadioSelect, forms.CheckboxSelectMultiple)


@dataclass(frozen=True)
class SummaryItem:
    target: str  # the id of the element the link leads to ("" for none)
    label: str  # the field's label ("" for an error about no one field)
    message: str


def field_target(field: forms.BoundField) -> str:
    """The id of the input a link to ``field`` should reach."""
    if field.is_hidden or not field.auto_id:
        return ""
    if isinstance(field.field.widget, GROUPED_WIDGETS):
        return f"{field.auto_id}_0"
    return field.id_for_label or field.auto_id


def summary_items(form: forms.BaseForm) -> list[SummaryItem]:
    """The errors of ``form`` in the order of its fields, general errors first."""
    if not form.is_bound or not form.errors:
        return []
    visible = form.visible_fields()
    first = field_target(visible[0]) if visible else ""
    items = [SummaryItem(first, "", str(message)) for message in form.non_field_errors()]
    for field in form:
        for message in field.errors:
            target = field_target(field)
            if target:
                items.append(SummaryItem(target, str(field.label or ""), str(message)))
            else:  # a hidden field's error (bookkeeping the user cannot fix field by field)
                items.append(SummaryItem(first, "", str(message)))
    return items


@register.inclusion_tag("_error_summary.html")
def error_summary(form) -> dict:
    return {"items": summary_items(form) if isinstance(form, forms.BaseForm) else []}


def _has_errors(value) -> bool:
    if isinstance(value, forms.BaseForm):
        return value.is_bound and bool(value.errors)
    if isinstance(value, list | tuple):
        return any(isinstance(item, forms.BaseForm) and item.is_bound and bool(item.errors) for item in value)
    return False


@register.simple_tag(takes_context=True)
def error_title_prefix(context) -> str:
    request = context.get("request")
    if request is None or request.method != "POST":
        return ""
    if any(_has_errors(value) for value in context.flatten().values()):
        return _("Erreur :") + " "
    return ""
