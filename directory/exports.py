"""The directory as open data: /projets.csv and /projets.json (docs/open-data.md).

data.gouv.fr's conventions: one row per project, snake_case column names without accents, dates
ISO 8601 (``YYYY-MM-DD``, Paris calendar dates), empty cells for unknown values; the CSV in
UTF-8 with a BOM and ``;`` between cells (hdh_access.lib.tabular, formula-safe), lists in one
cell joined by `` | `` (``LIST_SEPARATOR``); the JSON an array of objects with the same keys,
lists as arrays. Always in French (labels), whatever the visitor's language: one dataset.
Built from ``selectors.public_record`` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import translation

from directory.selectors import public_record
from hdh_access.lib.urls import absolute_url

LIST_SEPARATOR = " | "
CHUNK = 2000
COLUMNS = (
    "reference", "titre", "responsable_traitement", "resume_public", "bases_donnees", "codes_bases",
    "detenteurs", "procedure", "procedure_libelle", "etat", "etat_libelle", "date_depot", "date_autorisation",
    "date_mise_a_disposition", "lien_resultats", "url",
)
LIST_COLUMNS = ("bases_donnees", "codes_bases", "detenteurs")


def records(queryset: QuerySet) -> Iterator[dict[str, Any]]:
    """The public records of ``queryset`` (selectors.public_projects), read in chunks, in French."""
    with translation.override("fr"):
        for row in queryset.iterator(chunk_size=CHUNK):
            yield public_record(row)


def json_row(record: dict[str, Any]) -> dict[str, Any]:
    """One project as open data: the COLUMNS, lists as lists, dates as ISO text."""
    return {
        "reference": record["reference"],
        "titre": record["title"],
        "responsable_traitement": record["data_controller"],
        "resume_public": record["public_summary"],
        "bases_donnees": [d["name"] for d in record["datasets"]],
        "codes_bases": [d["code"] for d in record["datasets"]],
        "detenteurs": [h["name"] for h in record["holders"]],
        "procedure": record["route"],
        "procedure_libelle": record["route_label"],
        "etat": record["state"],
        "etat_libelle": record["state_label"],
        "date_depot": _iso(record["submitted_on"]),
        "date_autorisation": _iso(record["authorised_on"]),
        "date_mise_a_disposition": _iso(record["delivered_on"]),
        "lien_resultats": record["results_url"],
        "url": absolute_url(record["path"]),
    }


def csv_row(record: dict[str, Any]) -> list[Any]:
    """One project as a CSV row: the JSON's values, lists joined by LIST_SEPARATOR."""
    row = json_row(record)
    return [LIST_SEPARATOR.join(row[c]) if c in LIST_COLUMNS else row[c] for c in COLUMNS]


def _iso(value) -> str:
    return value.isoformat() if value else ""
