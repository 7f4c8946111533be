"""The roadmap's indicators, public (/indicateurs/, /en/indicators/ in English): each figure with its
target, its trend at the last quarter ends (a chart, its data table and a sentence) and how it is
computed. The figures are ``delays.indicators``' (the delay report's, for the same instant); no
person, request or note is shown, only counts, durations and data holders' names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import render
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from access_requests.workflow import State
from delays.durations import DAYS_PER_MONTH, in_months
from delays.indicators import cached_indicators
from directory.views import language_alternates
from hdh_access.lib.numbers import DASH, figure


def quarter_label(code: str) -> str:
    year, quarter = code.split("-Q")
    return _("T%(quarter)s %(year)s") % {"quarter": quarter, "year": year}


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _trend_sentence(labels: list[str], values: list[str]) -> str:
    """A chart's text alternative: its first and last points (the table has every one)."""
    if not labels:
        return _("Aucune donnée.")
    return _("De %(first_value)s (%(first)s) à %(last_value)s (%(last)s) ; chaque valeur est dans le tableau.") % {
        "first_value": values[0], "first": labels[0], "last_value": values[-1], "last": labels[-1]}


def _indicator(key: str, *, title: str, value: str, target: str, how: str, chart: dict[str, Any],
               headers: list[str], rows: list[list[str]], caption: str, status: str = "") -> dict[str, Any]:
    chart = {"id": f"chart-{key}", **chart}
    first_series = chart["datasets"][0]["text"] if chart["datasets"] else []
    return {"key": key, "title": title, "value": value, "target": target, "how": how, "status": status,
            "chart": chart, "headers": headers, "rows": rows, "caption": caption,
            "alternative": _trend_sentence(chart["labels"], first_series)}


def _series(label: str, values: list[float | int | None], text: list[str], kind: str = "bar") -> dict[str, Any]:
    return {"label": label, "data": values, "text": text, "kind": kind}


def indicators_context(data: dict[str, Any]) -> dict[str, Any]:
    labels = [quarter_label(q) for q in data["quarters"]]
    quarter_header = _("Fin du trimestre")
    projects, delay, share = data["projects"], data["delay"], data["share"]
    partnerships, civil = data["partnerships"], data["civil_society"]
    months = delay["target_months"]
    out = []

    values = [p["value"] for p in projects["trend"]]
    out.append(_indicator(
        "projects", title=_("Projets utilisant la plateforme par an"),
        value=_("%(n)s en %(year)s (au %(date)s), %(last)s en %(previous)s") % {
            "n": figure(projects["value"]), "year": projects["year"], "date": _date(data["as_of"]),
            "last": figure(projects["last_year"]), "previous": projects["year"] - 1},
        target=_("Objectif : %(n)s projets par an") % {"n": figure(projects["target"])},
        how=_("Nombre de projets dont les données ont été mises à disposition dans leur espace de travail sur la "
              "plateforme au cours de l'année civile (première mise à disposition), tous parcours confondus. "
              "La courbe compte les 12 mois qui précèdent chaque fin de trimestre."),
        chart={"labels": labels, "unit": _("projets"), "target": projects["target"],
               "target_label": _("Objectif"),
               "datasets": [_series(_("Projets sur 12 mois glissants"), values, [figure(v) for v in values])]},
        headers=[quarter_header, _("Projets sur les 12 mois précédents")],
        rows=[[label, figure(v)] for label, v in zip(labels, values, strict=True)]
        + [[_("Année %(year)s") % {"year": y["year"]}, figure(y["count"])] for y in projects["years"]],
        caption=_("Projets dont les données ont été mises à disposition, par période"),
    ))

    means = [in_months(p["mean_days"]) for p in delay["trend"]]
    medians = [in_months(p["median_days"]) for p in delay["trend"]]
    p90s = [in_months(p["p90_days"]) for p in delay["trend"]]
    out.append(_indicator(
        "delay", title=_("Délai moyen entre le dépôt et la mise à disposition des données, projets avec appariement"),
        value=(_("%(mean)s mois (médiane %(median)s, 90e centile %(p90)s), sur %(n)s projets livrés") % {
            "mean": figure(in_months(delay["mean_days"]), 1), "median": figure(in_months(delay["median_days"]), 1),
            "p90": figure(in_months(delay["p90_days"]), 1), "n": figure(delay["delivered"])})
        if delay["mean_days"] is not None else _("aucune livraison"),
        target=_("Objectif : %(months)s mois en moyenne") % {"months": months},
        status=_("objectif atteint") if delay["mean_days"] is not None and delay["mean_days"] <= months * DAYS_PER_MONTH
        else (_("objectif non atteint") if delay["mean_days"] is not None else ""),
        how=_("Pour les projets qui apparient plusieurs sources de données et dont les données ont été mises à "
              "disposition à cette date : temps écoulé du dépôt du dossier à la mise à disposition, moins le temps "
              "passé à attendre le demandeur (compléments, réponses, signatures) ; moyenne, médiane et 90e centile, "
              "en mois de 30,44 jours. Chaque point de la courbe est la même mesure à la fin du trimestre."),
        chart={"labels": labels, "unit": _("mois"), "target": months, "target_label": _("Objectif"), "type": "line",
               "datasets": [_series(_("Moyenne"), means, [figure(v, 1) for v in means], "line"),
                            _series(_("Médiane"), medians, [figure(v, 1) for v in medians], "line"),
                            _series(_("90e centile"), p90s, [figure(v, 1) for v in p90s], "line")]},
        headers=[quarter_header, _("Projets livrés"), _("Moyenne (mois)"), _("Médiane (mois)"), _("90e centile (mois)")],
        rows=[[label, figure(p["delivered"]), figure(a, 1), figure(b, 1), figure(c, 1)]
              for label, p, a, b, c in zip(labels, delay["trend"], means, medians, p90s, strict=True)],
        caption=_("Délai hors temps du demandeur des projets avec appariement livrés, à chaque fin de trimestre"),
    ))

    shares = [_percent(p["value"]) for p in share["trend"]]
    out.append(_indicator(
        "share", title=_("Part des projets livrés dans les %(months)s mois") % {"months": months},
        value=_("%(share)s %% (%(met)s sur %(n)s)") % {"share": figure(_percent(share["value"])), "met": figure(share["met"]),
                                                        "n": figure(share["delivered"])}
        if share["value"] is not None else _("aucune livraison"),
        target=_("Objectif : livrer dans les %(months)s mois") % {"months": months},
        how=_("Parmi les projets avec appariement livrés à cette date, la part dont les données ont été mises à "
              "disposition au plus tard %(months)s mois, de date à date, après le dépôt, le temps passé à attendre "
              "le demandeur retiré.") % {"months": months},
        chart={"labels": labels, "unit": "%", "max": 100,
               "datasets": [_series(_("Part livrée dans l'objectif (%)"), shares, [figure(v) + " %" if v is not None else DASH
                                                                                   for v in shares])]},
        headers=[quarter_header, _("Projets livrés"), _("Dans l'objectif"), _("Part")],
        rows=[[label, figure(p["delivered"]), figure(p["met"]), (figure(s) + " %") if s is not None else _("aucune livraison")]
              for label, p, s in zip(labels, share["trend"], shares, strict=True)],
        caption=_("Projets avec appariement livrés dans l'objectif, à chaque fin de trimestre"),
    ))

    values = [p["value"] for p in partnerships["trend"]]
    out.append(_indicator(
        "partnerships", title=_("Nouveaux partenariats avec des infrastructures de données"),
        value=_("%(n)s depuis %(year)s") % {"n": figure(partnerships["value"]), "year": partnerships["since"]},
        target=_("Objectif : %(n)s et plus") % {"n": figure(partnerships["target"])},
        how=_("Partenariats avec des infrastructures de données locales ou mutualisées, enregistrés par le "
              "secrétariat du HDH à leur date de signature, comptés depuis le 1er janvier %(year)s.")
        % {"year": partnerships["since"]},
        chart={"labels": labels, "unit": _("partenariats"), "target": partnerships["target"],
               "target_label": _("Objectif"), "type": "line",
               "datasets": [_series(_("Partenariats depuis %(year)s") % {"year": partnerships["since"]}, values,
                                    [figure(v) for v in values], "line")]},
        headers=[quarter_header, _("Partenariats depuis %(year)s") % {"year": partnerships["since"]}],
        rows=[[label, figure(v)] for label, v in zip(labels, values, strict=True)]
        + [[_("Année %(year)s") % {"year": y["year"]}, figure(y["count"])] for y in partnerships["years"]],
        caption=_("Nouveaux partenariats avec des infrastructures de données"),
    ))

    values = [p["value"] for p in civil["trend"]]
    out.append(_indicator(
        "civil-society", title=_("Échanges avec la société civile"),
        value=_("%(n)s en %(year)s") % {"n": figure(civil["value"]), "year": civil["year"]},
        target=(_("Objectif : %(target)s par an (%(factor)s fois les %(baseline)s de %(baseline_year)s)") % {
            "target": figure(civil["target"]), "factor": civil["factor"], "baseline": figure(civil["baseline"]),
            "baseline_year": civil["baseline_year"]}) if civil["target"] is not None else
        _("Objectif : %(factor)s fois plus qu'en %(baseline_year)s (aucun échange enregistré cette année-là)") % {
            "factor": civil["factor"], "baseline_year": civil["baseline_year"]},
        how=_("Événements avec des associations de patients, des citoyens ou le débat public (consultations, "
              "débats, ateliers, réunions) enregistrés par le secrétariat du HDH, comptés par année civile ; la "
              "courbe compte les 12 mois qui précèdent chaque fin de trimestre."),
        chart={"labels": labels, "unit": _("échanges"), "target": civil["target"], "target_label": _("Objectif"),
               "datasets": [_series(_("Échanges sur 12 mois glissants"), values, [figure(v) for v in values])]},
        headers=[quarter_header, _("Échanges sur les 12 mois précédents")],
        rows=[[label, figure(v)] for label, v in zip(labels, values, strict=True)]
        + [[_("Année %(year)s") % {"year": y["year"]}, figure(y["count"])] for y in civil["years"]],
        caption=_("Échanges avec la société civile, par période"),
    ))

    stages = [{"code": code, "label": str(State(code).label), **s} for code, s in data["stages"].items()]
    stage_medians = [_rounded(s["median_days"]) for s in stages]
    holders = data["holders"]
    holder_medians = [_rounded(h["median_days"]) for h in holders]
    where = {
        "stages": stages, "holders": holders,
        "stage_chart": {"id": "chart-stages", "labels": [s["label"] for s in stages], "unit": _("jours"),
                        "horizontal": True,
                        "datasets": [_series(_("Médiane (jours)"), stage_medians, [figure(v) for v in stage_medians]),
                                     _series(_("90e centile (jours)"), [_rounded(s["p90_days"]) for s in stages],
                                             [figure(s["p90_days"]) for s in stages])]},
        "holder_chart": {"id": "chart-holders", "labels": [h["name"] for h in holders], "unit": _("jours"),
                         "horizontal": True,
                         "datasets": [_series(_("Médiane (jours)"), holder_medians, [figure(v) for v in holder_medians]),
                                      _series(_("90e centile (jours)"), [_rounded(h["p90_days"]) for h in holders],
                                              [figure(h["p90_days"]) for h in holders])]},
        "bottleneck_stage": str(State(data["bottleneck_stage"]).label) if data["bottleneck_stage"] else "",
        "bottleneck_holder": next((h["name"] for h in holders if h["code"] == data["bottleneck_holder"]), ""),
    }
    charts = [i["chart"] for i in out] + [where["stage_chart"], where["holder_chart"]]
    return {"indicators": out, "where": where, "charts": charts,
            "computed_at": dt.datetime.fromisoformat(data["as_of"]), "months": months}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _date(iso: str) -> str:
    return date_format(dt.datetime.fromisoformat(iso).date(), "DATE_FORMAT")


@require_GET
def indicators(request):
    """The indicators page, in the address's language (directory.views.in_language: /indicateurs/
    French, /en/indicators/ English), with the other language's address for the switcher."""
    english = translation.get_language() == "en"
    alternates = language_alternates("directory:indicators", "directory:indicators_en")
    context = {**indicators_context(cached_indicators()), "alternates": alternates,
               "alternate_url": alternates["fr" if english else "en"]}
    return render(request, "directory/indicators.html", context)
