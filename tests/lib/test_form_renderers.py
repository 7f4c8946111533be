"""The renderers that draw selects and inputs in Python give, to the byte, what Django's templates give."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from dsfr.forms import DsfrDjangoTemplates

from access_requests.workflow import State
from hdh_access.lib import dsfr_forms
from hdh_access.lib.form_renderers import FastDsfrTemplates, FastTemplates
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)

GROUPED = [("", "—"), ("Bases", [("snds", "SNDS & <co>"), ("oscour", gettext_lazy("Personne"))]), ("x", 'a "b"')]


class _LocalisedTextarea(forms.Textarea):
    """A textarea whose value stays a number: ``{{ widget.value }}`` draws it in the page's language."""

    def format_value(self, value):
        return value


class Custom(forms.Select):
    option_template_name = "django/forms/widgets/radio_option.html"


WIDGETS = [
    (forms.Select(choices=GROUPED), "snds"),
    (forms.Select(choices=GROUPED, attrs={"class": "fr-select", "disabled": True, "data-x": 0, "hidden": False}),
     ""),
    (forms.SelectMultiple(choices=GROUPED), ["snds", "x"]),
    (forms.NullBooleanSelect(), None),
    (forms.Select(choices=[(1, 1), (2, mark_safe("<b>2</b>"))]), 2),
    (Custom(choices=[("a", "A")]), "a"),  # another option template: left to the engine
    (forms.TextInput(attrs={"class": "fr-input", "aria-describedby": 'x" onclick="y', "required": True}),
     '<script>"&'),
    (forms.TextInput(), None),
    (forms.TextInput(), ""),
    (forms.DateInput(attrs={"type": "date"}), "2026-12-07"),
    (forms.EmailInput(attrs={"autocomplete": "email"}), "a@b.example"),
    (forms.NumberInput(attrs={"min": 0}), 0),
    (forms.HiddenInput(), mark_safe("<i>safe</i>")),
    (forms.PasswordInput(render_value=True), "secret"),
    (forms.URLInput(), "https://example.org/?a=1&b=2"),
    (forms.Textarea(), 'a <b>"line"</b>\nand & another'),
    (forms.Textarea(attrs={"rows": 3, "class": "fr-input", "required": True}), ""),
    (forms.Textarea(), None),
    (forms.Textarea(), "0"),
    (forms.Textarea(), mark_safe("<i>safe</i>")),
    (_LocalisedTextarea(), Decimal("1234.5")),
    (forms.CheckboxInput(), True),
    (forms.RadioSelect(choices=GROUPED), "snds"),
]


@pytest.mark.parametrize(("fast", "reference"), [(FastTemplates(), DjangoTemplates()),
                                                  (FastDsfrTemplates(), DsfrDjangoTemplates())])
@pytest.mark.parametrize(("widget", "value"), WIDGETS, ids=[f"{type(w).__name__}-{i}" for i, (w, _v) in
                                                            enumerate(WIDGETS)])
def test_a_widget_is_drawn_as_django_s_templates_draw_it(fast, reference, widget, value):
    attrs = {"id": "id_field"}
    assert widget.render("field", value, attrs=attrs, renderer=fast) == widget.render(
        "field", value, attrs=attrs, renderer=reference)


class _Options(forms.Form):
    choice = forms.ChoiceField(choices=GROUPED)
    several = forms.MultipleChoiceField(choices=[("a", "A & <b>"), ("b", "B")], widget=forms.CheckboxSelectMultiple)


@pytest.mark.parametrize(("fast", "reference"), [(FastTemplates(), DjangoTemplates()),
                                                  (FastDsfrTemplates(), DsfrDjangoTemplates())])
@pytest.mark.parametrize("wrap_label", [False, True])
@pytest.mark.parametrize("auto_id", ["id_%s", False])
def test_a_radio_button_or_a_checkbox_of_a_group_is_drawn_as_django_draws_it(fast, reference, wrap_label, auto_id):
    """A group's option drawn alone (``{{ radio.tag }}``, the back office's field groups)."""
    for data in ({"choice": "snds"}, None):
        for name in ("choice", "several"):
            drawn = []
            for renderer in (fast, reference):  # a form of each (a bound field keeps its renderer)
                form = _Options(data, auto_id=auto_id, renderer=renderer)
                form.fields["choice"].widget = forms.RadioSelect(choices=GROUPED)
                drawn.append([option.tag(wrap_label=wrap_label) for option in form[name]])
            assert drawn[0] == drawn[1] and drawn[0]


def test_the_project_draws_its_forms_with_the_fast_renderers():
    assert isinstance(get_default_renderer(), FastTemplates)
    assert isinstance(dsfr_forms.DSFR_RENDERER, FastDsfrTemplates)


TOKENS = re.compile(r'name="(csrfmiddlewaretoken|form_token)" value="[^"]*"')


@pytest.fixture
def slow_renderers(monkeypatch):
    """Draw every form through Django's and django-dsfr's templates instead, for comparison."""
    def use_templates():
        monkeypatch.setattr("django.forms.renderers.get_default_renderer", lambda: DjangoTemplates())
        monkeypatch.setattr("django.forms.forms.get_default_renderer", lambda: DjangoTemplates())
        monkeypatch.setattr(dsfr_forms.DsfrForm, "default_renderer", DsfrDjangoTemplates())
    return use_templates


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "page"), [
    ("secretariat", "queue"), ("secretariat", "queue_filtered"), ("secretariat", "detail"),
    ("management", "delays"), ("applicant", "portal_detail"), ("applicant", "portal_new"),
    ("applicant", "portal_list"), ("applicant", "profile"),
])
def test_whole_pages_are_the_same_drawn_either_way(client, personas, make_request, slow_renderers, persona, page):
    request = make_request(State.SUBMITTED)
    urls = {
        "queue": reverse("backoffice:queue"),
        "queue_filtered": reverse("backoffice:queue") + "?state=submitted&dataset=999&submitted_from=x&q=%3Cb%3E",
        "detail": reverse("backoffice:detail", args=[request.reference]),
        "delays": reverse("backoffice:delays"),
        "portal_detail": reverse("portal:detail", args=[request.reference]),
        "portal_new": reverse("portal:create"),
        "portal_list": reverse("portal:list"),
        "profile": reverse("accounts:profile"),
    }
    client.force_login(personas[persona])
    fast = client.get(urls[page])
    assert fast.status_code == 200
    slow_renderers()
    slow = client.get(urls[page])
    assert "<select" in fast.content.decode() or "<input" in fast.content.decode()
    assert TOKENS.sub("", fast.content.decode()) == TOKENS.sub("", slow.content.decode())
