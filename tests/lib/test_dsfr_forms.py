"""The DSFR forms share one renderer, so their widget templates are compiled once per process."""

from __future__ import annotations

from django.template.loaders.base import Loader

from accounts.forms import ProfileForm, SignUpForm
from hdh_access.lib.dsfr_forms import DSFR_RENDERER
from portal.forms import DraftForm


def test_every_dsfr_form_draws_with_the_one_shared_renderer():
    assert SignUpForm().renderer is DSFR_RENDERER and SignUpForm().renderer is DSFR_RENDERER
    assert ProfileForm.default_renderer is DSFR_RENDERER and DraftForm.default_renderer is DSFR_RENDERER


def test_a_second_form_reads_no_template_from_disk(monkeypatch):
    str(SignUpForm())  # the first drawing compiles the templates
    reads = []
    real = Loader.get_template

    def counted(self, template_name, skip=None):
        reads.append(template_name)
        return real(self, template_name, skip)

    monkeypatch.setattr(Loader, "get_template", counted)
    html = str(SignUpForm())

    assert 'class="fr-input' in html and "fr-label" in html
    assert reads == []
