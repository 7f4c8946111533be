"""``{% field_group field %}`` (backoffice/templatetags/field_groups.py) draws each kind of field in the
DSFR's markup, with its hint, its error and the ids that tie them together.

The expected markup below is what the template it replaced (``backoffice/_field.html`` with
widget_tweaks' ``render_field``) drew for the same fields, to the byte; the pages' own tests check
the fields in place.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from django.template import Context, Template
from django.utils import translation

from backoffice.templatetags.field_groups import field_html
from hdh_access.lib.upload_fields import MultipleFileField


class _Fields(forms.Form):
    title = forms.CharField(label="Titre", help_text="Court <b>", max_length=10)
    state = forms.ChoiceField(label="État", choices=[("", "—"), ("a", "A & B")], required=False)
    opinion = forms.ChoiceField(label="Avis", choices=[("yes", "Favorable"), ("no", "Défavorable")],
                                widget=forms.RadioSelect, help_text="Choisir")
    internal = forms.BooleanField(label="Note interne", help_text="Invisible", required=False)
    documents = MultipleFileField(label="Pièces", required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False)


def _forms() -> dict[str, forms.Form]:
    bad = _Fields({"title": "x" * 11, "state": "zz", "opinion": "maybe", "internal": "on"})
    bad.is_valid()
    bad.add_error("documents", "Trop gros")
    bad.add_error("internal", "Non")
    return {"clean": _Fields(initial={"token": "t"}), "bad": bad}


EXPECTED = [
    ('clean', 'title', '\n\n\n<div class="fr-input-group">\n  <label class="fr-label" for="id_title">Titre<span class="fr-hint-text" id="id_title_helptext">Court &lt;b&gt;</span></label>\n  <input type="text" name="title" maxlength="10" class="fr-input" required aria-describedby="id_title_helptext" id="id_title">\n  \n</div>\n\n'),
    ('clean', 'state', '\n\n\n<div class="fr-select-group">\n  <label class="fr-label" for="id_state">État</label>\n  <select name="state" class="fr-select" id="id_state">\n  <option value="" selected>—</option>\n\n  <option value="a">A &amp; B</option>\n\n</select>\n  \n</div>\n\n'),
    ('clean', 'opinion', '\n\n\n<fieldset class="fr-fieldset" id="id_opinion-fieldset" aria-labelledby="id_opinion-legend">\n  <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="id_opinion-legend">Avis<span class="fr-hint-text" id="id_opinion_helptext">Choisir</span></legend>\n  \n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      <input type="radio" name="opinion" value="yes" id="id_opinion_0" required>\n      <label class="fr-label" for="id_opinion_0">Favorable</label>\n    </div>\n  </div>\n  \n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      <input type="radio" name="opinion" value="no" id="id_opinion_1" required>\n      <label class="fr-label" for="id_opinion_1">Défavorable</label>\n    </div>\n  </div>\n  \n  \n</fieldset>\n\n'),
    ('clean', 'internal', '\n\n\n<div class="fr-checkbox-group">\n  <input type="checkbox" name="internal" aria-describedby="id_internal_helptext" id="id_internal">\n  <label class="fr-label" for="id_internal">Note interne<span class="fr-hint-text" id="id_internal_helptext">Invisible</span></label>\n  \n</div>\n\n'),
    ('clean', 'documents', '\n\n\n<div class="fr-upload-group">\n  <label class="fr-label" for="id_documents">Pièces</label>\n  <input type="file" name="documents" accept=".pdf,.odt,.docx,application/pdf,application/vnd.oasis.opendocument.text,application/vnd.openxmlformats-officedocument.wordprocessingml.document" multiple class="fr-upload" id="id_documents">\n  \n</div>\n\n'),
    ('clean', 'token', '\n\n<input type="hidden" name="token" value="t" id="id_token">\n\n'),
    ('bad', 'title', '\n\n\n<div class="fr-input-group fr-input-group--error">\n  <label class="fr-label" for="id_title">Titre<span class="fr-hint-text" id="id_title_helptext">Court &lt;b&gt;</span></label>\n  <input type="text" name="title" value="xxxxxxxxxxx" maxlength="10" aria-describedby="id_title_helptext id_title-error" class="fr-input fr-input--error" required aria-invalid="true" id="id_title">\n  <p id="id_title-error" class="fr-error-text">Assurez-vous que cette valeur comporte au plus 10 caractères (actuellement 11).</p>\n</div>\n\n'),
    ('bad', 'state', '\n\n\n<div class="fr-select-group fr-select-group--error">\n  <label class="fr-label" for="id_state">État</label>\n  <select name="state" aria-describedby="id_state-error" class="fr-select fr-select--error" aria-invalid="true" id="id_state">\n  <option value="">—</option>\n\n  <option value="a">A &amp; B</option>\n\n</select>\n  <p id="id_state-error" class="fr-error-text">Sélectionnez un choix valide. zz n’en fait pas partie.</p>\n</div>\n\n'),
    ('bad', 'opinion', '\n\n\n<fieldset class="fr-fieldset fr-fieldset--error" id="id_opinion-fieldset" aria-labelledby="id_opinion-legend id_opinion-error" role="group">\n  <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="id_opinion-legend">Avis<span class="fr-hint-text" id="id_opinion_helptext">Choisir</span></legend>\n  \n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      <input type="radio" name="opinion" value="yes" id="id_opinion_0" required aria-invalid="true">\n      <label class="fr-label" for="id_opinion_0">Favorable</label>\n    </div>\n  </div>\n  \n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      <input type="radio" name="opinion" value="no" id="id_opinion_1" required aria-invalid="true">\n      <label class="fr-label" for="id_opinion_1">Défavorable</label>\n    </div>\n  </div>\n  \n  <div class="fr-messages-group" id="id_opinion-error" aria-live="assertive"><p class="fr-message fr-message--error">Sélectionnez un choix valide. maybe n’en fait pas partie.</p></div>\n</fieldset>\n\n'),
    ('bad', 'internal', '\n\n\n<div class="fr-checkbox-group fr-checkbox-group--error">\n  <input type="checkbox" name="internal" aria-describedby="id_internal_helptext id_internal-error" aria-invalid="true" id="id_internal" checked>\n  <label class="fr-label" for="id_internal">Note interne<span class="fr-hint-text" id="id_internal_helptext">Invisible</span></label>\n  <div class="fr-messages-group" id="id_internal-error" aria-live="assertive"><p class="fr-message fr-message--error">Non</p></div>\n</div>\n\n'),
    ('bad', 'documents', '\n\n\n<div class="fr-upload-group fr-upload-group--error">\n  <label class="fr-label" for="id_documents">Pièces</label>\n  <input type="file" name="documents" accept=".pdf,.odt,.docx,application/pdf,application/vnd.oasis.opendocument.text,application/vnd.openxmlformats-officedocument.wordprocessingml.document" multiple aria-invalid="true" aria-describedby="id_documents-error" class="fr-upload" id="id_documents">\n  <div class="fr-messages-group" id="id_documents-error" aria-live="assertive"><p class="fr-message fr-message--error">Trop gros</p></div>\n</div>\n\n'),
    ('bad', 'token', '\n\n<input type="hidden" name="token" id="id_token">\n\n'),
]


@pytest.mark.parametrize(("state", "name", "expected"), EXPECTED, ids=[f"{s}-{n}" for s, n, _ in EXPECTED])
def test_each_kind_of_field_is_drawn_with_its_hint_and_error(state, name, expected):
    assert field_html(_forms()[state][name]) == expected


class _Tricky(forms.Form):
    title = forms.CharField(label='Titre <b>&"', help_text='Aide <i>"&', required=False)
    rate = forms.ChoiceField(label="Taux", choices=[("1", Decimal("1.5")), ("2", 'Deux <&">')],
                             widget=forms.RadioSelect)
    kind = forms.ChoiceField(label="Type", choices=[("a", "A")])


def _tricky_forms() -> dict[str, forms.Form]:
    """Text to escape in a label, a hint, an error and a choice; a number as a choice's label (drawn
    in the page's language); a prefix and ids of another pattern; no ids at all."""
    bad = _Tricky({"p-title": "x", "p-rate": "9", "p-kind": "z"}, prefix="p", auto_id="x-%s")
    bad.is_valid()
    bad.add_error("title", 'Erreur <script>"&')
    return {"bad": bad, "plain": _Tricky(auto_id=False)}


# What the template drew for these fields, in French.
TRICKY = [
    ('bad', 'title', '\n\n\n<div class="fr-input-group fr-input-group--error">\n  <label class="fr-label" for="x-p-title">Titre &lt;b&gt;&amp;&quot;<span class="fr-hint-text" id="x-p-title_helptext">Aide &lt;i&gt;&quot;&amp;</span></label>\n  <input type="text" name="p-title" value="x" aria-describedby="x-p-title_helptext x-p-title-error" class="fr-input fr-input--error" aria-invalid="true" id="x-p-title">\n  <p id="x-p-title-error" class="fr-error-text">Erreur &lt;script&gt;&quot;&amp;</p>\n</div>\n\n'),
    ('bad', 'rate', '\n\n\n<fieldset class="fr-fieldset fr-fieldset--error" id="x-p-rate-fieldset" aria-labelledby="x-p-rate-legend x-p-rate-error" role="group">\n  <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="x-p-rate-legend">Taux</legend>\n  \n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      <input type="radio" name="p-rate" value="1" id="x-p-rate_0" required aria-invalid="true">\n      <label class="fr-label" for="x-p-rate_0">1,5</label>\n    </div>\n  </div>\n  \n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      <input type="radio" name="p-rate" value="2" id="x-p-rate_1" required aria-invalid="true">\n      <label class="fr-label" for="x-p-rate_1">Deux &lt;&amp;&quot;&gt;</label>\n    </div>\n  </div>\n  \n  <div class="fr-messages-group" id="x-p-rate-error" aria-live="assertive"><p class="fr-message fr-message--error">Sélectionnez un choix valide. 9 n’en fait pas partie.</p></div>\n</fieldset>\n\n'),
    ('bad', 'kind', '\n\n\n<div class="fr-select-group fr-select-group--error">\n  <label class="fr-label" for="x-p-kind">Type</label>\n  <select name="p-kind" aria-describedby="x-p-kind-error" class="fr-select fr-select--error" aria-invalid="true" id="x-p-kind">\n  <option value="a">A</option>\n\n</select>\n  <p id="x-p-kind-error" class="fr-error-text">Sélectionnez un choix valide. z n’en fait pas partie.</p>\n</div>\n\n'),
    ('plain', 'title', '\n\n\n<div class="fr-input-group">\n  <label class="fr-label" for="">Titre &lt;b&gt;&amp;&quot;<span class="fr-hint-text" id="_helptext">Aide &lt;i&gt;&quot;&amp;</span></label>\n  <input type="text" name="title" class="fr-input">\n  \n</div>\n\n'),
    ('plain', 'rate', '\n\n\n<fieldset class="fr-fieldset" id="-fieldset" aria-labelledby="-legend">\n  <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="-legend">Taux</legend>\n  \n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      <input type="radio" name="rate" value="1" required>\n      <label class="fr-label" for="None">1,5</label>\n    </div>\n  </div>\n  \n  <div class="fr-fieldset__element">\n    <div class="fr-radio-group">\n      <input type="radio" name="rate" value="2" required>\n      <label class="fr-label" for="None">Deux &lt;&amp;&quot;&gt;</label>\n    </div>\n  </div>\n  \n  \n</fieldset>\n\n'),
    ('plain', 'kind', '\n\n\n<div class="fr-select-group">\n  <label class="fr-label" for="">Type</label>\n  <select name="kind" class="fr-select">\n  <option value="a">A</option>\n\n</select>\n  \n</div>\n\n'),
]


@pytest.mark.parametrize(("state", "name", "expected"), TRICKY, ids=[f"{s}-{n}" for s, n, _ in TRICKY])
def test_labels_hints_errors_and_choices_are_escaped_and_localised_as_the_template_did(state, name, expected):
    with translation.override("fr"):
        assert field_html(_tricky_forms()[state][name]) == expected


def test_the_tag_draws_the_same_markup_in_a_template():
    form = _forms()["bad"]
    rendered = Template("{% load field_groups %}{% field_group form.title %}").render(Context({"form": form}))
    assert rendered == field_html(form["title"])
    assert 'aria-describedby="id_title_helptext id_title-error"' in rendered
    assert '<p id="id_title-error" class="fr-error-text">' in rendered


def test_values_are_escaped_and_a_form_without_ids_names_none():
    form = _Fields({"title": '"><script>'}, auto_id=False)
    form.is_valid()
    html = field_html(form["title"])
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;" in html
    assert ' id="' not in html.replace('id="_helptext"', "")
