"""Every CSV the product writes is safe to open in a spreadsheet (issue #13): a text cell that
would run as a formula gets a leading apostrophe."""

from __future__ import annotations

import inspect
import io

import pytest
from django.urls import reverse

from access_requests.workflow import State
from backoffice import exports, views
from delays.management.commands import delay_report
from hdh_access.lib import csvsafe, tabular
from notifications import weekly_report
from tests.downloads import csv_rows, xlsx_sheet

pytestmark = pytest.mark.django_db

HOSTILE = '=HYPERLINK("http://evil.example","clic")'


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+33 1 23", "'+33 1 23"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Cohorte = AVC", "Cohorte = AVC"), ("", ""),
    (-2.5, -2.5), (0, 0), (True, True), (None, None),
])
def test_a_text_cell_that_a_spreadsheet_would_run_is_prefixed(value, written):
    assert csvsafe.spreadsheet_cell(value) == written


def test_the_back_office_export_neutralises_a_hostile_title_and_organisation(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    request.title = HOSTILE
    request.save(update_fields=["title"])
    request.organisation.name = "@evil"
    request.organisation.save(update_fields=["name"])
    client.force_login(personas["secretariat"])
    response = client.get(reverse("backoffice:export"))
    row = next(r for r in csv_rows(response) if r[0] == request.reference)
    assert row[1] == "'" + HOSTILE and row[2] == "'@evil"
    sheet = xlsx_sheet(client.get(reverse("backoffice:export_xlsx")))
    title, organisation = next(r[1:3] for r in sheet.iter_rows(min_row=2) if r[0].value == request.reference)
    assert (title.value, title.data_type) == (HOSTILE, "s") and (organisation.value, organisation.data_type) == (
        "@evil", "s")


def test_every_csv_goes_through_the_safe_writer_or_the_table_writer():
    # delay_report's cells are codes, dates and numbers today; a text that ever starts with "=" is still made safe.
    out = io.StringIO()
    csvsafe.writer(out, lineterminator="\n").writerow(["HDH-1", "=cmd", 3.5])
    assert out.getvalue() == "HDH-1,'=cmd,3.5\n"
    source = inspect.getsource(delay_report)
    assert "csvsafe.writer(" in source and "csv.writer(" not in source.replace("csvsafe.writer(", "")
    # The downloads people open (back office, weekly report) are written by hdh_access.lib.tabular.
    for module in (weekly_report, views):
        source = inspect.getsource(module)
        assert "csv.writer(" not in source and ("write_table(" in source or "tabular.download(" in source), module
    assert "import csv" not in inspect.getsource(exports)  # it makes tables; tabular writes them
    assert "spreadsheet_cell(" in inspect.getsource(tabular)
