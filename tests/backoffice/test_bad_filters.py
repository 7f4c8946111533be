"""A bad filter date (at the ends of the calendar, or a period ending before it starts) is
ignored, never a 500: the pages say so, above the filters and under the field at fault."""

import re

import pytest

from tests.downloads import csv_dicts, csv_rows

from .helpers import materialise_all

PAGES = ["/backoffice/", "/backoffice/delays/"]

OUT_OF_RANGE = "out_of_range"
END_BEFORE_START = "end_before_start"
# query -> {field at fault: what is wrong with it}
QUERIES = {
    "submitted_to=9999-12-31": {"submitted_to": OUT_OF_RANGE},
    "submitted_from=0001-01-01&submitted_to=0001-01-01": {"submitted_from": OUT_OF_RANGE,
                                                          "submitted_to": OUT_OF_RANGE},
    "submitted_from=1999-12-31": {"submitted_from": OUT_OF_RANGE},
    "submitted_from=2025-02-01&submitted_to=2025-01-01": {"submitted_to": END_BEFORE_START},
}
CALENDAR_ENDS = [query for query, faults in QUERIES.items() if END_BEFORE_START not in faults.values()]

TEXT = {
    "fr": {"banner": "Certains filtres sont invalides et ont été ignorés.",
           OUT_OF_RANGE: "Choisissez une date entre 2000 et 2100.",
           END_BEFORE_START: "La fin de la période précède son début."},
    "en": {"banner": "Some filters are invalid and have been ignored.",
           OUT_OF_RANGE: "Choose a date between 2000 and 2100.",
           END_BEFORE_START: "The end of the period is before its start."},
}


def banner(text: str) -> str:
    return f'<div class="fr-alert fr-alert--warning fr-alert--sm fr-mb-2w" role="alert"><p>{text}</p></div>'


def field_error(field: str, text: str) -> str:
    return f'<p id="id_{field}-error" class="fr-error-text">{text}</p>'


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("query", list(QUERIES))
def test_a_page_ignores_a_bad_filter_date_and_tells_the_user_why(client, management, make_request, url, query,
                                                                   language):
    request = make_request("cesrees_review")
    materialise_all()
    client.force_login(management)

    response = client.get(f"{url}?{query}", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    page = response.content.decode()
    text, other = TEXT[language], TEXT["en" if language == "fr" else "fr"]
    assert f'<html lang="{language}"' in page
    assert page.count(banner(text["banner"])) == 1
    faults = QUERIES[query]
    for field in ("submitted_from", "submitted_to"):
        shown = [problem for problem in (OUT_OF_RANGE, END_BEFORE_START) if field_error(field, text[problem]) in page]
        assert shown == ([faults[field]] if field in faults else []), field
        (tag,) = re.findall(rf'<input type="date" name="{field}"[^>]*>', page)
        assert (f'aria-describedby="id_{field}-error"' in tag) == (field in faults), tag  # read out with the field
    assert not any(message in page for message in other.values())
    if url == "/backoffice/":
        assert request.reference in page  # the bad date filtered nothing out


@pytest.mark.django_db
@pytest.mark.parametrize("query", CALENDAR_ENDS)
def test_the_queue_export_ignores_an_out_of_range_date_without_a_message(client, management, make_request, query):
    request = make_request("cesrees_review")
    materialise_all()
    client.force_login(management)

    response = client.get(f"/backoffice/export.csv?{query}")

    assert response.status_code == 200
    rows = csv_dicts(response)
    assert [row["Référence"] for row in rows] == [request.reference]  # filtered by nothing
    # Nothing in the file tells the user a filter was ignored.


@pytest.mark.django_db
@pytest.mark.parametrize("query", CALENDAR_ENDS)
def test_the_dashboard_exports_ignore_an_out_of_range_date_without_a_message(client, management, make_request,
                                                                            query):
    make_request("cesrees_review")
    materialise_all()
    client.force_login(management)

    as_json = client.get(f"/backoffice/delays.json?{query}")
    as_csv = client.get(f"/backoffice/delays.csv?{query}")

    assert as_json.status_code == as_csv.status_code == 200
    filters = as_json.json()["filters"]
    assert filters["submitted_from"] is None and filters["submitted_to"] is None
    rows = csv_rows(as_csv)
    assert ["Filtres", "", "Déposées à partir du", ""] in rows and ["Filtres", "", "Déposées jusqu'au", ""] in rows
    # The files list the filters applied (none) but do not say that one was refused.
    assert "error" not in as_json.json() and not any(row[0] in {"error", "Erreur"} for row in rows)
