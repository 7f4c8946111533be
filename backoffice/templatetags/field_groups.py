"""``{% field_group field %}``: a form field in the DSFR's markup (label, hint, widget, error), drawn in
Python; the back office's one place for it.

Every form of the back office draws its fields this way: the queue's filters (a dozen fields on each
queue page), a request's action forms, messages, experts, saved filters. Drawn by a template
(an include per field, widget_tweaks' ``render_field`` copying the bound field twice to set the
widget's attributes) the filters alone were about a tenth of a queue page's CPU. Here the same
markup comes from f-strings, ``shown`` (what ``{{ value }}`` draws) and ``esc``, and the widget from
``BoundField.as_widget`` with the DSFR's class and the error's ``aria-describedby``, so Django
still builds the widget's attributes (required, disabled, ``aria-invalid``, its own
``aria-describedby``) and the form renderer draws it.

The markup, by the widget's type:

- hidden: the widget alone;
- radio buttons: a ``fieldset`` whose legend is the label (and hint), one DSFR radio group per choice;
- checkbox: the widget, then its label;
- files (``multiplefile``): label, then the DSFR upload input;
- select, and any other input: label, then the widget with the DSFR's class (and its error class).

The ids: the hint is ``<id>_helptext`` (the id Django's own ``aria-describedby`` names), the error
``<id>-error``; a field with an error names both in its ``aria-describedby``, the hint first.
"""

from __future__ import annotations

from django import forms, template
from django.utils.safestring import SafeString, mark_safe

from hdh_access.lib.escape import esc, shown

register = template.Library()


def _widget(field: forms.BoundField, **attrs: str) -> str:
    """The widget with ``attrs`` (what ``str(field)`` draws when there are none)."""
    if not attrs:
        return str(field)
    widget_attrs: dict[str, str | bool] = dict(attrs)
    html = field.as_widget(attrs=widget_attrs)
    if field.field.show_hidden_initial:
        html += field.as_hidden(only_initial=True)
    return html


def _described(field: forms.BoundField, err: str, hint: str) -> dict[str, str]:
    """With an error, the widget names its hint (if any) and its message."""
    if not field.errors:
        return {}
    return {"aria-describedby": f"{hint} {err}" if field.help_text else err}


def _label(field: forms.BoundField, hint: str) -> str:
    """The label's text and, when the field has one, its hint."""
    help_text = f'<span class="fr-hint-text" id="{esc(hint)}">{shown(field.help_text)}</span>' if field.help_text else ""
    return f"{shown(field.label)}{help_text}"


def _message(field: forms.BoundField, err: str) -> str:
    """The DSFR's message group of a field drawn in a group (radio, checkbox, files)."""
    return (f'<div class="fr-messages-group" id="{esc(err)}" aria-live="assertive">'
            f'<p class="fr-message fr-message--error">{shown(field.errors[0])}</p></div>')


def _radios(field: forms.BoundField, auto_id: str, err: str, hint: str) -> str:
    errors = field.errors
    radios = "".join(
        f'\n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      {radio.tag()}\n'
        f'      <label class="fr-label" for="{esc(radio.id_for_label)}">{shown(radio.choice_label)}</label>\n'
        f"    </div>\n  </div>\n  "
        for radio in field)
    labelled = f"{esc(auto_id)}-legend" + (f" {esc(err)}" if errors else "")
    role = ' role="group"' if errors else ""
    return (f'\n<fieldset class="fr-fieldset{" fr-fieldset--error" if errors else ""}" id="{esc(auto_id)}-fieldset"'
            f' aria-labelledby="{labelled}"{role}>\n'
            f'  <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="{esc(auto_id)}-legend">'
            f"{_label(field, hint)}</legend>\n  {radios}\n  {_message(field, err) if errors else ''}\n</fieldset>\n")


def _checkbox(field: forms.BoundField, err: str, hint: str) -> str:
    errors = field.errors
    return (f'\n<div class="fr-checkbox-group{" fr-checkbox-group--error" if errors else ""}">\n'
            f"  {_widget(field, **_described(field, err, hint))}\n"
            f'  <label class="fr-label" for="{esc(field.id_for_label)}">{_label(field, hint)}</label>\n'
            f"  {_message(field, err) if errors else ''}\n</div>\n")


def _files(field: forms.BoundField, err: str, hint: str) -> str:
    errors = field.errors
    attrs = {"aria-invalid": "true", **_described(field, err, hint), "class": "fr-upload"} if errors else {
        "class": "fr-upload"}
    return (f'\n<div class="fr-upload-group{" fr-upload-group--error" if errors else ""}">\n'
            f'  <label class="fr-label" for="{esc(field.id_for_label)}">{_label(field, hint)}</label>\n'
            f"  {_widget(field, **attrs)}\n  {_message(field, err) if errors else ''}\n</div>\n")


def _control(field: forms.BoundField, err: str, hint: str, group: str, css: str) -> str:
    """A select (``group`` "select", class "fr-select") or any other input ("input", "fr-input")."""
    errors = field.errors
    attrs = {**_described(field, err, hint), "class": f"{css} {css}--error"} if errors else {"class": css}
    message = f'<p id="{esc(err)}" class="fr-error-text">{shown(errors[0])}</p>' if errors else ""
    return (f'\n<div class="fr-{group}-group{f" fr-{group}-group--error" if errors else ""}">\n'
            f'  <label class="fr-label" for="{esc(field.id_for_label)}">{_label(field, hint)}</label>\n'
            f"  {_widget(field, **attrs)}\n  {message}\n</div>\n")


def field_html(field: forms.BoundField) -> SafeString:
    """The field's DSFR markup (see the module's docstring)."""
    widget_type, auto_id = field.widget_type, field.auto_id or ""
    err, hint = f"{auto_id}-error", f"{auto_id}_helptext"
    if widget_type == "hidden":
        html = f"{_widget(field)}\n"
    elif widget_type == "radioselect":
        html = _radios(field, auto_id, err, hint)
    elif widget_type == "checkbox":
        html = _checkbox(field, err, hint)
    elif widget_type == "multiplefile":
        html = _files(field, err, hint)
    elif widget_type == "select":
        html = _control(field, err, hint, "select", "fr-select")
    else:
        html = _control(field, err, hint, "input", "fr-input")
    return mark_safe(f"\n\n{html}\n")


@register.simple_tag
def field_group(field: forms.BoundField) -> SafeString:
    return field_html(field)
