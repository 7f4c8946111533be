"""Every CSV the product writes is safe to open in a spreadsheet (issue #13): a text cell that
would run as a formula gets a leading apostrophe."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from access_requests.workflow import State
from hdh_access.lib import csvsafe
from notifications import weekly_report

pytestmark = pytest.mark.django_db

HOSTILE = '=HYPERLINK("http://evil.example","clic")'


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+33 1 23", "'+33 1 23"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Cohorte = AVC", "Cohorte = AVC"), ("", ""),
    (-2.5, -2.5), (0, 0), (True, True), (None, None),
])
def test_a_text_cell_that_a_spreadsheet_would_run_is_prefixed(value, written):
    assert csvsafe.spreadsheet_cell(value) == written


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_back_office_export_neutralises_a_hostile_title_and_organisation(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    request.title = HOSTILE
    request.save(update_fields=["title"])
    request.organisation.name = "@evil"
    request.organisation.save(update_fields=["name"])
    client.force_login(personas["secretariat"])
    response = client.get(reverse("backoffice:export"))
    text = b"".join(response.streaming_content).decode("utf-8")
    row = next(r for r in _rows(text) if r[0] == request.reference)
    assert row[1] == "'" + HOSTILE and row[2] == "'@evil"


def test_the_weekly_report_csv_and_delay_report_csv_go_through_the_safe_writer(monkeypatch):
    # Their cells are codes, dates and numbers today; a text that ever starts with "=" is still made safe.
    out = io.StringIO()
    csvsafe.writer(out, lineterminator="\n").writerow(["HDH-1", "=cmd", 3.5])
    assert out.getvalue() == "HDH-1,'=cmd,3.5\n"
    import inspect

    from backoffice import views
    from delays.management.commands import delay_report
    for module in (weekly_report, delay_report, views):
        source = inspect.getsource(module)
        assert "csvsafe.writer(" in source and "csv.writer(" not in source.replace("csvsafe.writer(", ""), module
