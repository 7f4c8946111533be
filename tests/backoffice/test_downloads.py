"""The back office's downloads as people open them: CSV (UTF-8 with a BOM, ";") and XLSX, headers
and labels in the page's language, typed cells, the same access rules and constant queries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services
from access_requests.workflow import State
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)
from tests.backoffice.test_permissions_matrix import PERSONAS, client_for
from tests.conftest import datasets, with_form_token
from tests.downloads import body, csv_rows, xlsx_dicts, xlsx_sheet

PARIS = ZoneInfo("Europe/Paris")
SUBMITTED = dt.datetime(2025, 3, 3, 9, 15, tzinfo=PARIS)  # a Monday
NOW = dt.datetime(2025, 3, 10, 21, 15, tzinfo=PARIS)  # 7.5 days later

FRENCH = ["Référence", "Titre", "Organisation", "État", "Procédure", "Bases de données", "Appariement nécessaire",
          "Déposée le", "Dans l'étape depuis le", "Jours dans l'étape", "Échéance légale",
          "Situation de l'échéance légale", "Date limite de l'objectif de 7 mois",
          "Situation par rapport à l'objectif", "Mise à disposition prévue le", "Attribuée à"]
ENGLISH = ["Reference", "Title", "Organisation", "Status", "Route", "Databases", "Matching needed", "Submitted on",
           "In stage since", "Days in stage", "Statutory deadline", "Statutory deadline status",
           "7-month target deadline", "Target status", "Forecast delivery", "Assigned to"]
PAIRS = [("backoffice:export", "backoffice:export_xlsx"), ("backoffice:delays_csv", "backoffice:delays_xlsx")]


@pytest.fixture
def submitted(personas):
    """An SNDS + OSCOUR request submitted on 3 March 2025 at 09:15, assigned to the secretariat."""
    with time_machine.travel(SUBMITTED, tick=False):
        draft = services.create_draft(actor=personas["applicant"], title="Parcours de soins après un AVC",
                                      datasets=datasets("snds", "oscour"))
        request = services.submit(request_id=draft.pk, actor=personas["applicant"])
        services.assign(request_id=request.pk, actor=personas["secretariat"], assignee=personas["secretariat"])
        materialise_all()
    return request


def download(client, name: str, **headers):
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse(name), **headers)
        assert response.status_code == 200
        data = body(response)  # streamed while the clock is still frozen
    response.streaming_content = [data]  # read again by the caller
    return response


# --- the language of the page -------------------------------------------------------------------
def test_the_list_is_french_by_default_with_a_bom_semicolons_and_labels_not_codes(client, personas, submitted):
    client.force_login(personas["secretariat"])

    response = download(client, "backoffice:export")

    assert response["Content-Disposition"] == 'attachment; filename="instruction-2025-03-10.csv"'
    header, row = csv_rows(response)
    assert header == FRENCH
    assert row == [submitted.reference, "Parcours de soins après un AVC", "Inserm U1018", "Déposée (recevabilité)",
                   "Procédure standard (CESREES puis CNIL)", "OSCOUR — passages aux urgences, SNDS base principale",
                   "Oui", "2025-03-03 09:15", "2025-03-03 09:15", "7,5", "2025-03-12", "Échéance proche",
                   "2025-10-03", "Dans les temps", row[14], "secretariat@hdh.example"]


def test_the_list_is_english_when_the_browser_asks_for_english(client, personas, submitted):
    client.force_login(personas["secretariat"])

    response = download(client, "backoffice:export", HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Disposition"] == 'attachment; filename="requests-2025-03-10.csv"'
    header, row = csv_rows(response)
    assert header == ENGLISH
    assert row[3:7] == ["Submitted (completeness check)", "Standard route (CESREES then CNIL)",
                        "OSCOUR — passages aux urgences, SNDS base principale", "Yes"]  # catalogue names
    assert (row[9], row[11], row[13]) == ("7.5", "Deadline approaching", "On track")
    page = client.get(reverse("backoffice:queue"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en"' in page.content.decode()  # the page's language, the file's language


def test_the_language_saved_in_the_profile_wins_over_the_browsers(client, personas, submitted):
    user = personas["secretariat"]
    client.force_login(user)
    saved = client.post(reverse("accounts:profile"), with_form_token(client, {"language": "en"}))
    assert saved.status_code == 302 and client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    header, _row = csv_rows(download(client, "backoffice:export", HTTP_ACCEPT_LANGUAGE="fr"))
    assert header == ENGLISH
    sheet = xlsx_sheet(download(client, "backoffice:export_xlsx", HTTP_ACCEPT_LANGUAGE="fr"))
    assert [c.value for c in sheet[1]] == ENGLISH


# --- XLSX ---------------------------------------------------------------------------------------
def test_the_list_as_xlsx_has_the_csvs_rows_with_typed_cells(client, personas, submitted):
    client.force_login(personas["secretariat"])

    response = download(client, "backoffice:export_xlsx")

    assert response["Content-Disposition"] == 'attachment; filename="instruction-2025-03-10.xlsx"'
    sheet = xlsx_sheet(response)
    assert sheet.title == "Demandes" and sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1]) and sheet.column_dimensions["B"].width == 50
    (row,) = xlsx_dicts(sheet)
    assert list(row) == FRENCH
    assert row["Déposée le"] == dt.datetime(2025, 3, 3, 9, 15)  # a date cell, Paris time
    assert row["Échéance légale"] == dt.datetime(2025, 3, 12) and sheet["K2"].is_date
    assert row["Jours dans l'étape"] == 7.5 and sheet["J2"].data_type == "n"
    assert (row["État"], row["Appariement nécessaire"], row["Attribuée à"]) == (
        "Déposée (recevabilité)", "Oui", "secretariat@hdh.example")
    _header, csv_row = csv_rows(download(client, "backoffice:export"))
    assert [str(v) for v in (row["Référence"], row["Titre"], row["Organisation"])] == csv_row[:3]


def test_a_hostile_title_is_text_in_the_xlsx_and_harmless_in_the_csv(client, personas):
    hostile = '=HYPERLINK("http://evil.example","clic")'
    draft = services.create_draft(actor=personas["applicant"], title=hostile, datasets=datasets("snds"))
    services.submit(request_id=draft.pk, actor=personas["applicant"])
    client.force_login(personas["secretariat"])

    title = xlsx_sheet(client.get(reverse("backoffice:export_xlsx")))["B2"]
    assert (title.value, title.data_type) == (hostile, "s")
    assert csv_rows(client.get(reverse("backoffice:export")))[1][1] == "'" + hostile


def test_the_dashboards_figures_as_xlsx_are_typed_and_labelled(client, personas, submitted):
    client.force_login(personas["management"])

    french = xlsx_dicts(xlsx_sheet(download(client, "backoffice:delays_xlsx")))
    english = xlsx_dicts(xlsx_sheet(download(client, "backoffice:delays_xlsx", HTTP_ACCEPT_LANGUAGE="en")))

    assert list(french[0]) == ["Tableau", "Catégorie", "Mesure", "Valeur"]
    assert list(english[0]) == ["Table", "Category", "Measure", "Value"]
    values = {(r["Tableau"], r["Catégorie"] or "", r["Mesure"]): r["Valeur"] for r in french}
    assert values[("Calcul", "", "Calculé le")] == dt.datetime(2025, 3, 10, 21, 15)
    assert values[("Calcul", "", "Objectif (mois)")] == 7
    assert values[("Demandes en cours par étape", "Déposée (recevabilité)", "Dans les temps")] == 1
    assert values[("Synthèse", "", "Demandes mises à disposition")] == 0
    assert ("Computation", None, "Computed at") in {(r["Table"], r["Category"], r["Measure"]) for r in english}


def test_the_dashboards_files_name_the_dataset_and_the_holder_they_were_filtered_on(client, personas, submitted):
    client.force_login(personas["curie"])  # a data holder's staff: their holder's figures only

    rows = csv_rows(client.get(reverse("backoffice:delays_csv"), {"dataset": datasets("snds")[0].pk}))

    assert ["Filtres", "", "Base de données", "SNDS base principale"] in rows
    assert ["Filtres", "", "Détenteur de données", personas["curie"].profile.data_holder.name] in rows


# --- who may download, and what ----------------------------------------------------------------
@pytest.mark.parametrize(("as_csv", "as_xlsx"), PAIRS)
def test_each_xlsx_follows_the_rules_of_its_csv_for_every_persona(client, personas, submitted, as_csv, as_xlsx):
    seen = {}
    for who in PERSONAS:
        c = client_for(client, personas, who)
        csv_response, xlsx_response = c.get(reverse(as_csv)), c.get(reverse(as_xlsx))
        seen[who] = (csv_response.status_code, xlsx_response.status_code)
        if who == "anonymous":
            assert xlsx_response["Location"] == f"/accounts/login/?next={reverse(as_xlsx)}"
    assert all(csv_status == xlsx_status for csv_status, xlsx_status in seen.values()), seen
    assert {seen[w][1] for w in ("anonymous",)} == {302}
    assert {seen[w][1] for w in ("applicant", "colleague", "outsider")} == {403}
    assert {seen[w][1] for w in ("secretariat", "curie", "management", "superuser")} == {200}


def test_a_data_holders_staff_download_only_requests_for_their_datasets(client, personas, submitted):
    curie_request = services.create_draft(actor=personas["applicant"], title="GIST", datasets=datasets("realigist"))
    services.submit(request_id=curie_request.pk, actor=personas["applicant"])
    materialise_all()
    for who, expected in (("curie", {curie_request.reference}),
                          ("cnam", {submitted.reference})):
        client_for(client, personas, who)
        listed = {r["Référence"] for r in xlsx_dicts(xlsx_sheet(client.get(reverse("backoffice:export_xlsx"),
                                                                            {"scope": "all"})))}
        assert listed == expected, who
        assert {r[0] for r in csv_rows(client.get(reverse("backoffice:export"), {"scope": "all"}))[1:]} == expected


# --- queries ------------------------------------------------------------------------------------
def _queries(client, name: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(name))
        body(response)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", ["backoffice:delays_csv", "backoffice:delays_xlsx"])
def test_the_dashboards_downloads_run_the_same_number_of_queries_at_two_sizes(client, personas, make_request, name):
    client.force_login(personas["curie"])  # a data holder's staff: the holder's name is looked up too
    make_request(State.CESREES_REVIEW, codes=("realigist",))
    materialise_all()
    small = _queries(client, name)
    for state in (State.CNIL_REVIEW, State.CONTRACTING, State.MATCHING, State.DELIVERED):
        make_request(state, codes=("realigist", "snds"))
    materialise_all()
    assert _queries(client, name) == small
