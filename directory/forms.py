"""The directory's search form (GET): a bad value is an error shown on the page, never a 500."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access_requests.workflow import Route, State
from catalog.selectors import dataset_list
from directory.selectors import DEFAULT_SORT, PUBLIC_STATES, RELEVANCE, Criteria
from hdh_access.lib.dsfr_forms import DsfrForm

FIRST_YEAR = 2010
SORT_LABELS = {
    "recent": _("Autorisation la plus récente"),
    "oldest": _("Autorisation la plus ancienne"),
    "submitted": _("Dépôt le plus récent"),
    "title": _("Titre (A → Z)"),
    RELEVANCE: _("Pertinence (avec une recherche)"),
}


def _years() -> list[tuple[str, Any]]:
    return [("", _("Toutes"))] + [(str(y), str(y)) for y in range(timezone.localdate().year, FIRST_YEAR - 1, -1)]


class DirectoryForm(DsfrForm):
    q = forms.CharField(label=_("Rechercher un projet"), required=False, max_length=200,
                        help_text=_("Mots du titre ou du résumé public (« hôpital » trouve aussi « hôpitaux »)"))
    dataset = forms.ChoiceField(label=_("Base de données"), required=False)
    holder = forms.ChoiceField(label=_("Détenteur de données"), required=False)
    year = forms.ChoiceField(label=_("Année d'autorisation"), required=False)
    submitted_year = forms.ChoiceField(label=_("Année de dépôt"), required=False)
    state = forms.ChoiceField(label=_("État"), required=False,
                              choices=[("", _("Tous"))] + [(s, State(s).label) for s in PUBLIC_STATES])
    route = forms.ChoiceField(label=_("Procédure"), required=False, choices=[("", _("Toutes")), *Route.choices])
    sort = forms.ChoiceField(label=_("Trier par"), required=False, choices=list(SORT_LABELS.items()))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        catalogue = list(dataset_list())  # one query: the datasets with their holders
        self.fields["dataset"].choices = [("", _("Toutes"))] + [(d.code, d.name) for d in catalogue]
        holders = sorted({(d.holder.code, d.holder.name) for d in catalogue}, key=lambda h: h[1])
        self.fields["holder"].choices = [("", _("Tous")), *holders]
        self.fields["year"].choices = self.fields["submitted_year"].choices = _years()
        self.fields["sort"].initial = DEFAULT_SORT

    def criteria(self) -> Criteria:
        """The valid criteria; a field with an error does not filter."""
        if not self.is_bound:
            return Criteria()
        self.is_valid()
        data = self.cleaned_data
        return Criteria(
            q=(data.get("q") or "").strip(), dataset=data.get("dataset") or "", holder=data.get("holder") or "",
            year=int(data["year"]) if data.get("year") else None,
            submitted_year=int(data["submitted_year"]) if data.get("submitted_year") else None,
            state=data.get("state") or "", route=data.get("route") or "", sort=data.get("sort") or "",
        )
