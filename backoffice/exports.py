"""The back office's downloads, as people open them in a spreadsheet: the filtered list of
requests and the delay dashboard's figures, each as CSV or XLSX (hdh_access.lib.tabular).

Headers and labels are in the page's language (the request's, chosen by LocaleMiddleware: the
language cookie the profile sets, else the browser's Accept-Language, else French): states,
routes, badges, statuses and stages by their names, datasets by their catalogue names, yes/no
as words. Values keep their types (dates, instants, numbers), so the XLSX has real date and
number cells. Labels are translated when the table is made, before the response streams.
The machine-readable files stay as they are: ``delays.json`` and ``delay_report --format csv``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests.models import AccessRequest
from access_requests.workflow import Route, State
from backoffice import selectors as sel
from backoffice.forms import BADGE_LABELS
from delays.dashboard import SEGMENTS
from delays.labels import STATUS_LABELS
from hdh_access.lib.labels import translated
from hdh_access.lib.tabular import Column

Table = tuple[list[Column], Iterator[list[Any]]]


def quarter_label(code: str) -> str:
    """``2025-Q2`` as people read it: "T2 2025" (Q2 2025 in English)."""
    year, quarter = code.split("-Q")
    return _("T%(quarter)s %(year)s") % {"quarter": quarter, "year": year}


# --- the filtered list of requests --------------------------------------------------------------
def queue_table(qs: QuerySet[AccessRequest], *, now: dt.datetime, today: dt.date, months: int) -> Table:
    """One row per request of ``qs`` (sel.queue: every page of the filtered list)."""
    columns = [
        Column(_("Référence"), 16), Column(_("Titre"), 50), Column(_("Organisation"), 30), Column(_("État"), 24),
        Column(_("Procédure"), 30), Column(_("Bases de données"), 40), Column(_("Appariement nécessaire"), 12),
        Column(_("Déposée le"), 17), Column(_("Dans l'étape depuis le"), 17), Column(_("Jours dans l'étape"), 10),
        Column(_("Échéance légale"), 12), Column(_("Situation de l'échéance légale"), 20),
        Column(_("Date limite de l'objectif de %(months)s mois") % {"months": months}, 14),
        Column(_("Situation par rapport à l'objectif"), 20), Column(_("Mise à disposition prévue le"), 17),
        Column(_("Attribuée à"), 28),
    ]
    states, routes = translated(State.choices), translated(Route.choices)
    badges, statuses = translated(BADGE_LABELS), translated(STATUS_LABELS)
    names = sel.dataset_names(qs)
    fields = ("pk", "reference", "title", "organisation__name", "state", "route", "requires_matching", "submitted_at",
              "stage_since", "due_date", "target_deadline", "target_status", "forecast_at", "assignee__first_name",
              "assignee__last_name", "assignee__email")

    def rows() -> Iterator[list[Any]]:
        # Plain values, not model instances: a few times faster for the tens of thousands of rows of "all".
        for (pk, reference, title, organisation, state, route, matching, submitted_at, since, due_date, deadline,
             status, forecast_at, first_name, last_name, email) in qs.values_list(*fields).iterator(chunk_size=2000):
            days = round((now - since).total_seconds() / 86400, 1) if since else None
            badge = "paused" if state == State.AWAITING_APPLICANT else sel.badge_of(due_date, today)
            assignee = f"{first_name or ''} {last_name or ''}".strip() or email or ""
            yield [
                reference, title, organisation or "", states.get(state, state), routes.get(route, route),
                ", ".join(names.get(pk, [])), matching, submitted_at, since, days, due_date, badges.get(badge, badge),
                deadline, statuses.get(status, status), forecast_at, assignee,
            ]

    return columns, rows()


# --- the dashboard's figures, in long form ------------------------------------------------------
def _measures(months: int) -> dict[str, str]:
    return {
        # when and how
        "computed_at": _("Calculé le"),
        "forecasts_computed_at": _("Prévisions calculées au plus tôt le"),
        "target_months": _("Objectif (mois)"),
        "submitted_from": _("Déposées à partir du"),
        "submitted_to": _("Déposées jusqu'au"),
        "dataset_id": _("Base de données"),
        "holder_id": _("Détenteur de données"),
        # the headline and the summary
        "delivered": _("Demandes mises à disposition"),
        "met": _("Mises à disposition dans l'objectif"),
        "missed": _("Mises à disposition hors objectif"),
        "share_met": _("Part mise à disposition dans les %(months)s mois (%%)") % {"months": months},
        "mean_institution_days": _("Délai moyen hors temps du demandeur (jours)"),
        "median_institution_days": _("Délai médian hors temps du demandeur (jours)"),
        "p90_institution_days": _("90e centile hors temps du demandeur (jours)"),
        "mean_access_days": _("Délai moyen d'accès, temps du demandeur compris (jours)"),
        "median_access_days": _("Délai médian d'accès, temps du demandeur compris (jours)"),
        "late": _("Objectif dépassé"),
        "at_risk": _("À risque"),
        "on_track": _("Dans les temps"),
        "other": _("Hors population cible (sans appariement)"),
        "total": _("Total"),
        "bottleneck_stage": _("Goulet d'étranglement"),
        # per stage and per quarter
        "count": _("Demandes"),
        "mean_days": _("Moyenne (jours)"),
        "median_days": _("Médiane (jours)"),
        "p90_days": _("90e centile (jours)"),
        "submitted": _("Demandes déposées"),
        "open_past_deadline": _("En cours, objectif dépassé"),
        # the listed requests
        "current_stage": _("Étape en cours"),
        "deadline": _("Date limite de l'objectif"),
        "forecast_at": _("Mise à disposition prévue le"),
        "days_past_deadline": _("Jours après la date limite"),
        "elapsed_days": _("Durée écoulée (jours)"),
        # by data holder, after the decision (delays.holders)
        "holder_delivered": _("Tâches livrées"),
        "open": _("Tâches en cours"),
        "overdue": _("Tâches en retard sur leur échéance"),
        "last_to_deliver": _("Dernier détenteur à livrer (demandes multi-détenteurs)"),
    }


def _figures() -> dict[str, str]:
    return {
        "meta": _("Calcul"),
        "filter": _("Filtres"),
        "summary": _("Synthèse"),
        "stage": _("Durée par étape (demandes mises à disposition)"),
        "submission_quarters": _("Par trimestre de dépôt"),
        "delivery_quarters": _("Par trimestre de mise à disposition"),
        "headline_quarters": _("Objectif par trimestre de mise à disposition"),
        "current_stage": _("Demandes en cours par étape"),
        "late": _("Demandes en cours ayant dépassé l'objectif"),
        "at_risk": _("Demandes en cours à risque de le dépasser"),
        "holder": _("Après la décision, par détenteur de données (contrat à livraison)"),
    }


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def dashboard_table(data: dict[str, Any], *, filter_names: dict[str, str]) -> Table:
    """Every figure of ``data`` (delays.dashboard.build_dashboard), one per row: table,
    category, measure, value. ``filter_names`` names the dataset and holder filtered on."""
    months = data["target_months"]
    measures, figures, states = _measures(months), _figures(), translated(State.choices)
    columns = [Column(_("Tableau"), 36), Column(_("Catégorie"), 26), Column(_("Mesure"), 50),
               Column(_("Valeur"), 20)]

    def value(key: str, raw: Any) -> Any:
        if raw is None:
            return None
        if key in {"computed_at", "forecasts_computed_at", "forecast_at"}:
            return _instant(raw)
        if key in {"submitted_from", "submitted_to", "deadline"}:
            return _day(raw)
        if key in {"current_stage", "bottleneck_stage"}:
            return states.get(raw, raw)
        if key == "share_met":
            return round(raw * 100, 1)
        if key in filter_names:
            return filter_names[key]
        return raw

    def row(figure: str, category: str, key: str, raw: Any) -> list[Any]:
        return [figures[figure], category, measures.get(key, key), value(key, raw)]

    out = [row("meta", "", key, data[key]) for key in ("computed_at", "forecasts_computed_at", "target_months")]
    out += [row("filter", "", key, raw) for key, raw in data["filters"].items()]
    out += [row("summary", "", key, raw) for key, raw in data["summary"].items()]
    for stage, stats in data["stages"].items():
        out += [row("stage", states.get(stage, stage), key, raw) for key, raw in stats.items()]
    for figure in ("submission_quarters", "delivery_quarters", "headline_quarters"):
        for quarter in data[figure]:
            out += [row(figure, quarter_label(quarter["quarter"]), key, raw)
                    for key, raw in quarter.items() if key != "quarter"]
    for current in data["current_stages"]:
        out += [row("current_stage", states.get(current["stage"], current["stage"]), key, current[key])
                for key in (*SEGMENTS, "total")]
    for holder in data["holders"]:
        out += [row("holder", holder["name"], "holder_delivered" if key == "delivered" else key, holder[key])
                for key in ("delivered", "median_days", "p90_days", "open", "overdue", "last_to_deliver")]
    for figure in ("late", "at_risk"):
        for listed in data[figure]:
            out += [row(figure, listed["reference"], key, listed[key])
                    for key in ("current_stage", "deadline", "forecast_at", "days_past_deadline", "elapsed_days")]
    return columns, iter(out)


def file_date() -> str:
    return timezone.localdate().isoformat()
