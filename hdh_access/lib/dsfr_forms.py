"""The base of the forms drawn in the DSFR look (the portal's and the accounts' pages).

django-dsfr's ``DsfrBaseForm`` gives, as its default renderer, the *class* of its renderer, so
Django builds a new renderer for every form instance, and with it a new template engine whose
cache starts empty: each form read its widget templates from disk again (about 3 ms a page). One
renderer shared by the process keeps them compiled, as Django's own default renderer does; it
draws the selects and inputs in Python (hdh_access.lib.form_renderers).
"""

from __future__ import annotations

from django import forms
from django.forms.renderers import BaseRenderer
from dsfr.forms import DsfrBaseForm

from hdh_access.lib.form_renderers import FastDsfrTemplates

DSFR_RENDERER: BaseRenderer = FastDsfrTemplates()


class DsfrForm(DsfrBaseForm):
    """DSFR rendering; optional fields are marked (the DSFR's current recommendation)."""

    default_renderer: BaseRenderer | type[BaseRenderer] | None = DSFR_RENDERER

    def get_context(self):
        context = forms.Form.get_context(self)
        context["DSFR_MARK_OPTIONAL_FIELDS"] = True
        return context
