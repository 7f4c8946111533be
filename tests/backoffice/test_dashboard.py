"""The delay dashboard: same figures as the delay report, filters, lists, downloads, constant queries."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.workflow import State
from delays import dashboard, statistics
from delays.models import RequestDelay
from delays.report import build_report
from hdh_access.lib.dates import PARIS, paris_date
from tests.backoffice.helpers import backoffice_settings, import_sample  # noqa: F401  (autouse)
from tests.conftest import datasets
from tests.downloads import csv_rows


@pytest.fixture
def history(tmp_path, db):
    import_sample(tmp_path, 150, seed=11, as_of=timezone.now() - dt.timedelta(hours=1))


def close(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-3))


def test_the_dashboard_gives_the_delay_reports_figures(history):
    now = timezone.now()
    figures = dashboard.build_dashboard(now=now)
    report = build_report(now)
    for key in ("delivered", "met", "missed", "late", "at_risk", "on_track", "bottleneck_stage"):
        assert figures["summary"][key] == report["summary"][key], key
    for key in ("share_met", "mean_access_days", "median_access_days"):
        assert close(figures["summary"][key], report["summary"][key]), key
    assert figures["stages"] == report["stages"]
    assert figures["summary"]["delivered"] > 20 and figures["summary"]["late"] > 0
    assert figures["bottleneck"]["stage"] == report["summary"]["bottleneck_stage"]


@pytest.mark.postgres  # compares the PostgreSQL query with the Python fallback
def test_python_and_sql_aggregates_agree_on_filtered_rows(history):
    rows = dashboard.delay_rows(dashboard.DashboardFilters(submitted_from=dt.date(2021, 1, 1),
                                                           dataset_id=datasets("oscour")[0].pk))
    delivered = rows.filter(requires_matching=True, delivered_at__isnull=False)
    sql_access, sql_stats = statistics._aggregate_sql(delivered)
    py_access, py_stats = statistics._aggregate_python(delivered)
    assert sql_access["delivered"] == py_access["delivered"] > 0
    assert close(sql_access["mean"], py_access["mean"]) and close(sql_access["median"], py_access["median"])
    for stage in sql_stats:
        assert sql_stats[stage]["count"] == py_stats[stage]["count"]
        for key in ("mean_days", "median_days", "p90_days"):
            assert close(sql_stats[stage][key], py_stats[stage][key]), (stage, key)


def test_filters_by_dataset_and_period_select_the_matching_requests(history):
    oscour = datasets("oscour")[0]
    start, end = dt.date(2022, 1, 1), dt.date(2023, 6, 30)
    figures = dashboard.build_dashboard(dashboard.DashboardFilters(submitted_from=start, submitted_to=end,
                                                                   dataset_id=oscour.pk))
    through = AccessRequest.datasets.through.objects.filter(accessrequest_id=OuterRef("request_id"),
                                                             dataset_id=oscour.pk)
    expected = [r for r in RequestDelay.objects.filter(Exists(through), requires_matching=True)
                if start <= paris_date(r.submitted_at) <= end]
    delivered = [r for r in expected if r.delivered_at]
    assert figures["summary"]["delivered"] == len(delivered) > 0
    assert figures["summary"]["met"] == sum(1 for r in delivered if r.target_met)
    assert sum(q["submitted"] for q in figures["submission_quarters"]) == len(expected)
    assert {q["quarter"] for q in figures["submission_quarters"]} <= {
        "2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1", "2023-Q2"}
    assert figures["filters"] == {"submitted_from": "2022-01-01", "submitted_to": "2023-06-30",
                                  "dataset_id": oscour.pk, "holder_id": None}


def test_quarterly_series_count_deliveries_within_seven_months_by_submission_quarter(history):
    figures = dashboard.build_dashboard()
    today = timezone.localdate()
    expected = defaultdict(lambda: {"submitted": 0, "delivered": 0, "met": 0, "open_past_deadline": 0})
    access = defaultdict(list)
    for r in RequestDelay.objects.filter(requires_matching=True):
        day = r.submitted_at.astimezone(PARIS).date()
        q = expected[f"{day.year}-Q{(day.month - 1) // 3 + 1}"]
        q["submitted"] += 1
        if r.delivered_at:
            q["delivered"] += 1
            q["met"] += bool(r.target_met)
            d = r.delivered_at.astimezone(PARIS).date()
            access[f"{d.year}-Q{(d.month - 1) // 3 + 1}"].append(r.elapsed_days)
        elif r.ended_at is None and r.deadline < today:
            q["open_past_deadline"] += 1
    got = {q["quarter"]: {k: q[k] for k in ("submitted", "delivered", "met", "open_past_deadline")}
           for q in figures["submission_quarters"]}
    assert got == dict(expected)
    assert [q["quarter"] for q in figures["delivery_quarters"]] == sorted(access)
    for q in figures["delivery_quarters"]:
        assert close(q["mean_access_days"], round(sum(access[q["quarter"]]) / len(access[q["quarter"]]), 3))


def test_the_late_and_at_risk_lists_come_from_the_deadline_and_the_materialised_forecast(history):
    figures = dashboard.build_dashboard(list_limit=None)
    today = timezone.localdate()
    open_target = RequestDelay.objects.filter(requires_matching=True, ended_at__isnull=True)
    late = open_target.filter(deadline__lt=today).order_by("deadline", "request_id")
    at_risk = open_target.filter(deadline__gte=today, status="at_risk")
    assert [r["reference"] for r in figures["late"]] == [r.request.reference for r in late]
    assert {r["reference"] for r in figures["at_risk"]} == {r.request.reference for r in at_risk}
    assert all(r["days_past_deadline"] > 0 for r in figures["late"])
    assert len(dashboard.build_dashboard(list_limit=2)["late"]) == min(2, late.count())
    by_stage = {s["stage"]: s for s in figures["current_stages"]}
    assert sum(s["late"] for s in by_stage.values()) == late.count()
    assert sum(s["total"] for s in by_stage.values()) == RequestDelay.objects.filter(ended_at__isnull=True).count()


def test_the_page_shows_charts_with_text_alternatives_and_when_figures_were_computed(client, personas, history):
    client.force_login(personas["management"])
    response = client.get(reverse("backoffice:delays"))
    html = response.content.decode()
    assert response.status_code == 200
    for canvas in ("chart-stages", "chart-shares", "chart-access", "chart-current"):
        assert f'<canvas id="{canvas}" role="img" aria-label="' in html
    assert html.count("<details class=\"fr-mt-1w\"><summary>Voir les données</summary>") == 4
    assert '<script id="dashboard-data" type="application/json">' in html
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in html
    assert "cdn" not in html.lower()
    assert "Chiffres calculés le" in html and "Les prévisions « à risque » datent au plus tôt du" in html
    assert "Goulet d&#x27;étranglement" in html or "Goulet d'étranglement" in html
    charts = response.context["charts"]
    assert len(charts["stages"]["labels"]) == 7 and charts["access"]["target"] == 7


def test_csv_and_json_downloads_hold_the_dashboards_figures(client, personas, history):
    client.force_login(personas["management"])
    params = {"submitted_from": "2021-01-01"}
    data = json.loads(client.get(reverse("backoffice:delays_json"), params).content)
    expected = dashboard.build_dashboard(dashboard.DashboardFilters(submitted_from=dt.date(2021, 1, 1)),
                                         list_limit=None)
    for key in ("summary", "stages", "submission_quarters", "delivery_quarters", "current_stages", "late", "filters"):
        assert data[key] == json.loads(json.dumps(expected[key])), key
    header, *rows = csv_rows(client.get(reverse("backoffice:delays_csv"), params))
    assert header == ["Tableau", "Catégorie", "Mesure", "Valeur"]
    lookup = {(r[0], r[1], r[2]): r[3] for r in rows}
    assert lookup[("Synthèse", "", "Demandes mises à disposition")] == str(data["summary"]["delivered"])
    assert lookup[("Durée par étape (demandes mises à disposition)", "Extraction", "Médiane (jours)")] == (
        str(data["stages"]["extraction"]["median_days"]).replace(".", ","))  # a French decimal comma
    assert lookup[("Filtres", "", "Déposées à partir du")] == "2021-01-01"
    assert lookup[("Synthèse", "", "Goulet d'étranglement")] == str(
        State(data["summary"]["bottleneck_stage"]).label)
    late = [r for r in rows if r[0] == "Demandes en cours ayant dépassé l'objectif"]
    assert sum(1 for r in late if r[2] == "Date limite de l'objectif") == len(data["late"])


def test_a_data_holders_staff_see_figures_for_their_own_datasets_only(client, personas, history):
    client.force_login(personas["curie"])
    data = json.loads(client.get(reverse("backoffice:delays_json")).content)
    through = AccessRequest.datasets.through.objects.filter(accessrequest_id=OuterRef("request_id"),
                                                             dataset__holder__code="curie")
    curie_rows = RequestDelay.objects.filter(Exists(through))
    assert data["summary"]["delivered"] == curie_rows.filter(requires_matching=True, delivered_at__isnull=False).count()
    assert data["summary"]["delivered"] < dashboard.build_dashboard()["summary"]["delivered"]
    refs = set(curie_rows.values_list("request__reference", flat=True))
    assert {r["reference"] for r in data["late"]} <= refs


def test_invalid_dashboard_filters_are_ignored_never_a_500(client, personas, history):
    client.force_login(personas["management"])
    response = client.get(reverse("backoffice:delays"), {"submitted_from": "2025-13-45", "dataset": "x"})
    assert response.status_code == 200
    assert "Certains filtres sont invalides" in response.content.decode()


def test_the_dashboard_runs_the_same_number_of_queries_at_two_sizes(client, personas, tmp_path):
    client.force_login(personas["management"])
    client.get(reverse("backoffice:queue"))  # a first page caches the site configuration (as on a server)
    counts = []
    for n, seed, offset in ((30, 1, 0), (150, 2, 5000)):
        import_sample(tmp_path, n, seed=seed, as_of=timezone.now() - dt.timedelta(hours=1), number_offset=offset)
        for url in ("backoffice:delays", "backoffice:delays_json"):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse(url), {"dataset": datasets("snds")[0].pk}).status_code == 200
            counts.append(len(ctx.captured_queries))
    assert counts[:2] == counts[2:]
    assert max(counts) <= 19  # 16, and 3 for the data holders' figures (delays.holders)


def test_figures_are_kept_for_a_while_the_page_says_when_and_can_recompute_them(client, personas, history, settings):
    settings.HDH_DASHBOARD_CACHE_SECONDS = 600
    client.force_login(personas["management"])
    first = client.get(reverse("backoffice:delays"))
    assert "Les chiffres sont gardés 10 minutes." in first.content.decode()
    with CaptureQueriesContext(connection) as cached:
        second = client.get(reverse("backoffice:delays"))
    assert second.context["data"]["computed_at"] == first.context["data"]["computed_at"]
    assert not any("percentile_cont" in q["sql"] or "requestdelay" in q["sql"] for q in cached.captured_queries)
    other = client.get(reverse("backoffice:delays"), {"dataset": datasets("oscour")[0].pk})
    assert other.context["data"]["filters"]["dataset_id"] == datasets("oscour")[0].pk
    refreshed = client.get(reverse("backoffice:delays"), {"refresh": "1"})
    assert refreshed.context["data"]["computed_at"] > first.context["data"]["computed_at"]
    assert "refresh=1" not in refreshed.context["query"]


def test_only_management_may_force_the_figures_to_be_recomputed(client, personas, history, settings):
    settings.HDH_DASHBOARD_CACHE_SECONDS = 600
    client.force_login(personas["secretariat"])
    first = client.get(reverse("backoffice:delays"))
    again = client.get(reverse("backoffice:delays"), {"refresh": "1"})
    assert again.context["data"]["computed_at"] == first.context["data"]["computed_at"]
