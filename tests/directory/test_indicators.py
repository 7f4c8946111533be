"""The roadmap's indicators (delays.indicators, /indicateurs/): the delay report's figures for the
same instant, the trend at quarter ends, the secretariat's records, a public page without
personal data whose charts have a data table and a text alternative."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from access_requests.workflow import State
from delays import services
from delays.durations import in_months
from delays.indicators import build_indicators, quarter_ends
from delays.models import CivilSocietyExchange, ExchangeKind, Partnership
from delays.report import build_report
from hdh_access.lib.errors import ActionNotPermitted
from hdh_access.lib.numbers import figure
from tests.backoffice.helpers import backoffice_settings, import_sample, materialise_all  # noqa: F401
from tests.conftest import paris

NOW = paris(2026, 3, 15, 12)


def report_json(as_of: str) -> dict:
    out = StringIO()
    call_command("delay_report", "--as-of", as_of, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def sample(db, tmp_path):
    with time_machine.travel(NOW, tick=False):
        import_sample(tmp_path, 80, seed=11, as_of=NOW - dt.timedelta(hours=1))
        yield


# --- the same figures as delay_report ---------------------------------------------------------
def test_the_indicators_are_the_delay_reports_figures_for_the_same_instant(sample):
    figures = build_indicators(NOW)
    report = report_json(NOW.isoformat())
    summary = report["summary"]
    assert summary["delivered"] > 10
    assert figures["delay"]["mean_days"] == summary["mean_institution_days"]
    assert figures["delay"]["median_days"] == summary["median_institution_days"]
    assert figures["delay"]["p90_days"] == summary["p90_institution_days"]
    assert figures["delay"]["delivered"] == figures["share"]["delivered"] == summary["delivered"]
    assert figures["share"]["value"] == summary["share_met"]
    assert figures["share"]["met"] == summary["met"]
    assert figures["stages"] == report["stages"]
    assert figures["holders"] == list(report["holders"].values())
    assert figures["bottleneck_stage"] == summary["bottleneck_stage"]


def test_each_quarter_end_of_the_trend_is_the_delay_report_as_of_that_day(sample):
    figures = build_indicators(NOW, quarters=6)
    assert figures["quarters"] == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    firsts = ["2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01", "2026-01-01"]
    for day, delay, share in zip(firsts, figures["delay"]["trend"], figures["share"]["trend"], strict=True):
        summary = report_json(day)["summary"]
        assert delay["mean_days"] == summary["mean_institution_days"]
        assert delay["median_days"] == summary["median_institution_days"]
        assert delay["p90_days"] == summary["p90_institution_days"]
        assert (share["delivered"], share["met"], share["value"]) == (
            summary["delivered"], summary["met"], summary["share_met"])


def test_the_page_shows_the_delay_reports_figures(sample, client):
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("directory:indicators"))
    assert response.status_code == 200
    summary = build_report(NOW)["summary"]
    html = response.content.decode()
    delay = next(i for i in response.context["indicators"] if i["key"] == "delay")
    for days in (summary["mean_institution_days"], summary["median_institution_days"], summary["p90_institution_days"]):
        assert figure(in_months(days), 1) in delay["value"]
    assert delay["value"] in html
    share = next(i for i in response.context["indicators"] if i["key"] == "share")
    assert f"{figure(round(summary['share_met'] * 100, 1))} %" in share["value"]
    stages = response.context["where"]["stages"]
    assert {s["code"]: s["median_days"] for s in stages} == {
        code: s["median_days"] for code, s in build_report(NOW)["stages"].items()}


def test_the_page_holds_no_personal_data(sample, client, personas):
    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("directory:indicators")).content.decode()
    from access_requests.models import AccessRequest

    for reference, title in AccessRequest.objects.values_list("reference", "title")[:50]:
        assert reference not in html and title not in html
    for user in personas.values():
        assert user.email not in html


# --- the trend on a known history --------------------------------------------------------------
def test_projects_per_year_and_their_trend_on_a_known_history(db, make_request):
    for instant in (paris(2024, 5, 2), paris(2024, 11, 5), paris(2025, 2, 3), paris(2025, 8, 20)):
        with time_machine.travel(instant, tick=False):
            make_request(State.DELIVERED, codes=("snds",))
    with time_machine.travel(paris(2025, 9, 1), tick=False):
        make_request(State.CONTRACTING)  # not delivered: not counted
    materialise_all()
    figures = build_indicators(paris(2025, 10, 15), quarters=4)
    projects = figures["projects"]
    assert projects["target"] == 200
    assert (projects["year"], projects["value"], projects["last_year"]) == (2025, 2, 2)
    assert [y for y in projects["years"] if y["year"] >= 2024] == [{"year": 2024, "count": 2}, {"year": 2025, "count": 2}]
    # 12 months before 1 Jan 2025, 1 Apr, 1 Jul, 1 Oct 2025.
    assert figures["quarters"] == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3"]
    assert [p["value"] for p in projects["trend"]] == [2, 3, 2, 3]


def test_quarter_ends_are_paris_midnights():
    ends = quarter_ends(paris(2025, 4, 1, 0, 30), 2)
    assert ends == [("2024-Q4", paris(2025, 1, 1, 0)), ("2025-Q1", paris(2025, 4, 1, 0))]


# --- the secretariat's records -----------------------------------------------------------------
def test_the_secretariat_records_partnerships_counted_per_year_against_the_target(db, secretariat, settings):
    settings.HDH_ROADMAP_START_YEAR = 2023
    settings.HDH_TARGET_PARTNERSHIPS = 40
    for day in (dt.date(2022, 6, 1), dt.date(2023, 3, 1), dt.date(2024, 2, 1), dt.date(2024, 9, 1), dt.date(2025, 5, 5)):
        services.record_partnership(actor=secretariat, name=f"Entrepôt {day}", partner="CHU", signed_on=day)
    figures = build_indicators(paris(2025, 6, 1), quarters=2)["partnerships"]
    assert figures["value"] == 4 and figures["target"] == 40 and figures["since"] == 2023
    assert figures["years"] == [{"year": 2023, "count": 1}, {"year": 2024, "count": 2}, {"year": 2025, "count": 1}]
    # Since 1 Jan 2023, at 1 Jan and 1 Apr 2025.
    assert [p["value"] for p in figures["trend"]] == [3, 3]


def test_civil_society_exchanges_against_three_times_the_baseline_year(db, secretariat, settings):
    settings.HDH_CIVIL_SOCIETY_BASELINE_YEAR = 2022
    settings.HDH_TARGET_CIVIL_SOCIETY_FACTOR = 3
    for day in (dt.date(2022, 3, 1), dt.date(2022, 10, 1), dt.date(2025, 1, 10), dt.date(2025, 2, 10),
                dt.date(2025, 6, 30)):
        services.record_exchange(actor=secretariat, held_on=day, title="Rencontre", kind=ExchangeKind.DEBATE,
                                 audience="Associations de patients")
    figures = build_indicators(paris(2025, 8, 1), quarters=2)["civil_society"]
    assert (figures["baseline"], figures["target"], figures["value"]) == (2, 6, 3)
    assert [p["value"] for p in figures["trend"]] == [2, 3]  # the 12 months before 1 Apr, before 1 Jul 2025


@pytest.mark.parametrize("who", ["applicant", "cesrees", "cnil", "cnam", "platform", "management"])
def test_only_the_secretariat_and_administrators_record_them(db, personas, who):
    actor = personas[who]
    with pytest.raises(ActionNotPermitted):
        services.record_partnership(actor=actor, name="X", partner="Y", signed_on=dt.date(2025, 1, 1))
    with pytest.raises(ActionNotPermitted):
        services.record_exchange(actor=actor, held_on=dt.date(2025, 1, 1), title="X")
    kept = services.record_partnership(actor=personas["superuser"], name="X", partner="Y", signed_on=dt.date(2025, 1, 1))
    exchange = services.record_exchange(actor=personas["secretariat"], held_on=dt.date(2025, 1, 1), title="X")
    with pytest.raises(ActionNotPermitted):
        services.delete_partnership(actor=actor, partnership_id=kept.pk)
    with pytest.raises(ActionNotPermitted):
        services.delete_exchange(actor=actor, exchange_id=exchange.pk)
    assert Partnership.objects.count() == 1 and CivilSocietyExchange.objects.count() == 1
    services.delete_partnership(actor=personas["secretariat"], partnership_id=kept.pk)
    services.delete_exchange(actor=personas["superuser"], exchange_id=exchange.pk)
    assert not Partnership.objects.exists() and not CivilSocietyExchange.objects.exists()


# --- the page ----------------------------------------------------------------------------------
def test_the_page_is_public_with_a_table_and_a_text_alternative_per_chart(db, client):
    response = client.get("/indicateurs/")
    assert response.status_code == 200
    html = response.content.decode()
    charts = json.loads(html.split('id="indicators-data" type="application/json">')[1].split("</script>")[0])
    assert len(charts) == 7
    for chart in charts:
        assert f'<canvas id="{chart["id"]}" role="img" aria-label="' in html
    for key in ("projects", "delay", "share", "partnerships", "civil-society"):
        assert f'id="table-{key}"' in html and f'id="alt-{key}"' in html and f'id="how-{key}"' in html
    assert 'id="table-stages"' in html and 'id="table-holders"' in html
    assert "<script>" not in html and "style=" not in html


def test_the_page_in_english(db, client):
    response = client.get("/en/indicators/")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert '<html lang="en"' in response.content.decode()


def test_the_page_is_cached_and_says_when_it_was_computed(db, client, settings):
    settings.HDH_DASHBOARD_CACHE_SECONDS = 600
    client.get("/indicateurs/")
    Partnership.objects.create(name="X", partner="Y", signed_on=timezone.localdate(), recorded_at=timezone.now())
    response = client.get("/indicateurs/")
    assert next(i for i in response.context["indicators"] if i["key"] == "partnerships")["value"].startswith("0")
    assert 'id="computed-at"' in response.content.decode()
