"""Post-decision time split by data holder (issue #15): figures, bottleneck, report, dashboard."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from access_requests.history_import import import_history
from catalog.models import DataHolder
from delays import holders as holders_module
from delays.dashboard import DashboardFilters, build_dashboard
from delays.holders import bottleneck_holder, holder_figures, refresh_holder_medians, tasks_as_of
from delays.report import build_report

pytestmark = pytest.mark.django_db

UTC = dt.UTC
HEADER = "reference,at,state,datasets,requires_matching,title,holder"
# Two requests after the decision: three holders for the first, two for the second.
ROWS = [
    "HDH-2024-0101,2024-01-08T09:00:00Z,submitted,snds;oscour;uroccr,true,Trois détenteurs,",
    "HDH-2024-0101,2024-01-20T09:00:00Z,cesrees_review,,,,",
    "HDH-2024-0101,2024-03-01T09:00:00Z,cnil_review,,,,",
    "HDH-2024-0101,2024-04-01T00:00:00Z,contracting,,,,",
    "HDH-2024-0101,2024-05-01T00:00:00Z,matching,,,,spf",
    "HDH-2024-0101,2024-05-11T00:00:00Z,matching,,,,chu-bordeaux",
    "HDH-2024-0101,2024-05-21T00:00:00Z,matching,,,,cnam",
    "HDH-2024-0101,2024-06-01T00:00:00Z,extraction,,,,spf",
    "HDH-2024-0101,2024-06-10T00:00:00Z,delivered,,,,spf",  # 70 days
    "HDH-2024-0101,2024-06-15T00:00:00Z,extraction,,,,chu-bordeaux",
    "HDH-2024-0101,2024-07-10T00:00:00Z,delivered,,,,chu-bordeaux",  # 100 days
    "HDH-2024-0101,2024-08-01T00:00:00Z,extraction,,,,cnam",
    "HDH-2024-0101,2024-11-08T00:00:00Z,delivered,,,,cnam",  # 221 days: the last
    "HDH-2024-0202,2024-02-01T09:00:00Z,submitted,snds;uroccr,true,Deux détenteurs,",
    "HDH-2024-0202,2024-02-10T09:00:00Z,cesrees_review,,,,",
    "HDH-2024-0202,2024-03-20T09:00:00Z,cnil_review,,,,",
    "HDH-2024-0202,2024-05-01T00:00:00Z,contracting,,,,",
    "HDH-2024-0202,2024-06-01T00:00:00Z,matching,,,,chu-bordeaux",
    "HDH-2024-0202,2024-06-20T00:00:00Z,extraction,,,,chu-bordeaux",
    "HDH-2024-0202,2024-07-01T00:00:00Z,delivered,,,,chu-bordeaux",  # 61 days
]
AFTER = dt.datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def imported(tmp_path: Path, settings):
    settings.HDH_HOLDER_DEFAULT_DAYS = 120
    path = tmp_path / "history.csv"
    path.write_text("\n".join((HEADER, *ROWS)) + "\n", encoding="utf-8")
    import_history(path)


def by_code(figures):
    return {figure.code: figure for figure in figures}


def test_each_holder_has_its_deliveries_median_p90_open_and_overdue(imported):
    figures = by_code(holder_figures(AFTER))

    assert set(figures) == {"cnam", "spf", "chu-bordeaux"}
    assert (figures["spf"].delivered, figures["spf"].median_days) == (1, pytest.approx(70))
    bordeaux = figures["chu-bordeaux"]
    assert bordeaux.delivered == 2
    assert bordeaux.median_days == pytest.approx((100 + 61) / 2)
    assert bordeaux.p90_days == pytest.approx(61 + 0.9 * (100 - 61))
    # The second request's CNAM task is open: opened on 2024-05-01, due 120 days later, overdue now.
    cnam = figures["cnam"]
    assert (cnam.delivered, cnam.median_days, cnam.open, cnam.overdue) == (1, pytest.approx(221), 1, 1)
    assert (cnam.last_to_deliver, bordeaux.last_to_deliver, figures["spf"].last_to_deliver) == (1, 0, 0)
    assert bottleneck_holder(figures.values()).code == "cnam"
    # The slowest first.
    assert [f.code for f in holder_figures(AFTER)] == ["cnam", "chu-bordeaux", "spf"]


def test_figures_are_read_as_of_an_instant(imported):
    figures = by_code(holder_figures(dt.datetime(2024, 6, 30, tzinfo=UTC)))

    assert figures["spf"].delivered == 1 and figures["cnam"].delivered == 0
    assert figures["cnam"].open == 2 and figures["cnam"].overdue == 0
    assert figures["chu-bordeaux"].open == 2  # the first request's and the second's (delivered 1 July)
    assert bottleneck_holder(figures.values()).code == "spf"  # the only one with a delivery


def test_the_sqlite_twin_gives_the_postgresql_figures(imported, monkeypatch):
    in_sql = holder_figures(AFTER)
    monkeypatch.setattr(holders_module, "connection", SimpleNamespace(vendor="sqlite"))
    in_python = holder_figures(AFTER)
    assert [(f.code, f.delivered, f.median_days, f.p90_days) for f in in_python] == [
        (f.code, f.delivered, pytest.approx(f.median_days), pytest.approx(f.p90_days)) for f in in_sql]


def test_a_holders_staff_see_their_own_line_only(imported):
    cnam = DataHolder.objects.get(code="cnam")
    assert [f.code for f in holder_figures(AFTER, holder_id=cnam.pk)] == ["cnam"]
    data = build_dashboard(DashboardFilters(holder_id=cnam.pk), now=AFTER)
    assert [h["code"] for h in data["holders"]] == ["cnam"]


def test_the_dashboard_names_the_bottleneck_holder(imported):
    data = build_dashboard(now=AFTER)
    assert data["bottleneck_holder"]["code"] == "cnam"
    assert data["bottleneck_holder"]["median_days"] == pytest.approx(221)
    assert {h["code"]: h["delivered"] for h in data["holders"]} == {"cnam": 1, "chu-bordeaux": 2, "spf": 1}


def test_the_nightly_refresh_stores_each_holders_median(imported):
    refresh_holder_medians(AFTER)
    medians = dict(DataHolder.objects.values_list("code", "median_delivery_days"))
    assert medians["cnam"] == 221 and medians["spf"] == 70 and medians["chu-bordeaux"] == 81  # 80.5 rounded up
    assert medians["curie"] is None


def test_tasks_as_of_give_each_tasks_state_then(imported):
    tasks = tasks_as_of(dt.datetime(2024, 6, 5, tzinfo=UTC))
    first = next(iter(tasks.values()))
    assert [(t["holder"], t["state"], t["entered_at"][:10], t["delivered_at"]) for t in first] == [
        ("chu-bordeaux", "matching", "2024-05-11", None),
        ("cnam", "matching", "2024-05-21", None),
        ("spf", "extraction", "2024-06-01", None),
    ]


def test_delay_report_detail_lists_each_applications_holder_tasks(imported):
    out = StringIO()
    call_command("delay_report", "--as-of", "2025-01-01", "--detail", stdout=out)
    report = json.loads(out.getvalue())

    assert report["summary"]["bottleneck_holder"] == "cnam"
    assert report["holders"]["cnam"]["median_days"] == pytest.approx(221)
    applications = {app["reference"]: app for app in report["applications"]}
    first = applications["HDH-2024-0101"]["holder_tasks"]
    assert [set(task) for task in first] == [{"holder", "state", "entered_at", "due_date", "overdue",
                                              "delivered_at"}] * 3
    assert {task["holder"]: task["delivered_at"] for task in first} == {
        "chu-bordeaux": "2024-07-10T00:00:00+00:00", "cnam": "2024-11-08T00:00:00+00:00",
        "spf": "2024-06-10T00:00:00+00:00"}
    second = {task["holder"]: task for task in applications["HDH-2024-0202"]["holder_tasks"]}
    assert second["cnam"]["state"] == "contracting" and second["cnam"]["overdue"] is True
    assert second["cnam"]["due_date"] == "2024-08-29"  # 120 days after 1 May (Paris date of opening)
    assert second["chu-bordeaux"]["state"] == "delivered" and second["chu-bordeaux"]["overdue"] is False


def test_delay_report_text_has_the_holders_table(imported):
    out = StringIO()
    call_command("delay_report", "--as-of", "2025-01-01", "--format", "text", stdout=out)
    text = out.getvalue()
    assert "Bottleneck data holder: cnam" in text
    assert any(line.startswith("cnam") and " 221.0 " in line for line in text.splitlines())


def test_a_report_before_any_task_says_so():
    report = build_report(AFTER)
    assert report["holders"] == {} and report["summary"]["bottleneck_holder"] is None
