"""The headline figure (issue #12, rule 7): one definition for every screen.

Among the target requests delivered in a period, the share delivered within 7 months of
submission with the applicant's time taken off (``RequestDelay.target_met``), and the mean,
median and 90th percentile of institution days (``elapsed_days - applicant_days``). The
dashboard (summary and quarterly series), the weekly email and ``delay_report`` all read
``delays.statistics.headline`` / ``headline_by_quarter``: the same data gives the same figures.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import statistics as stdlib_statistics
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from delays import dashboard, statistics
from delays.models import RequestDelay
from hdh_access.lib.dates import paris_date
from notifications import weekly_report
from tests.conftest import paris
from tests.downloads import csv_rows

PARIS = ZoneInfo("Europe/Paris")
TARGET = "snds;oscour"  # two data sources: the request needs matching (target population)
HEADLINE_KEYS = ("delivered", "met", "share_met", "mean_institution_days", "median_institution_days",
                 "p90_institution_days")



AS_OF = paris(2025, 6, 16, 8)  # a Monday in the second quarter of 2025, after every delivery below
STANDARD = ("submitted", "cesrees_review", "cnil_review", "contracting", "matching", "extraction", "delivered")

# Target requests by Paris delivery quarter:
# - 2024-Q3: ``met`` (deadline 10 August, delivered 20 July);
# - 2024-Q4: none (only ``single``, which needs no matching, so is outside the target population);
# - 2025-Q1: ``late_b`` and ``late_c``, both delivered after their deadline: 0 %;
# - 2025-Q2: ``paused`` (deadline 1 May, delivered 20 May after 40 days waiting on the
#   applicant: 10 April once they are taken off, so met) and ``met_e`` (deadline 4 June,
#   delivered 2 June).
HISTORY: dict[str, tuple[str, str, list[tuple[str, dt.datetime]]]] = {
    "met": ("HDH-2024-0201", TARGET, list(zip(STANDARD, (
        paris(2024, 1, 10), paris(2024, 1, 15), paris(2024, 2, 20), paris(2024, 4, 15), paris(2024, 5, 20),
        paris(2024, 6, 20), paris(2024, 7, 20)), strict=True))),
    "late_b": ("HDH-2024-0202", TARGET, list(zip(STANDARD, (
        paris(2024, 5, 2), paris(2024, 5, 10), paris(2024, 6, 20), paris(2024, 9, 1), paris(2024, 10, 15),
        paris(2024, 12, 15), paris(2025, 2, 10)), strict=True))),
    "late_c": ("HDH-2024-0203", TARGET, list(zip(STANDARD, (
        paris(2024, 6, 3), paris(2024, 6, 10), paris(2024, 7, 20), paris(2024, 10, 1), paris(2024, 11, 15),
        paris(2025, 1, 10), paris(2025, 3, 14)), strict=True))),
    "paused": ("HDH-2024-0204", TARGET, [
        ("submitted", paris(2024, 10, 1)), ("cesrees_review", paris(2024, 10, 8)),
        ("awaiting_applicant", paris(2024, 11, 1)), ("cesrees_review", paris(2024, 12, 11)),
        ("cnil_review", paris(2025, 1, 5)), ("contracting", paris(2025, 2, 20)), ("matching", paris(2025, 3, 20)),
        ("extraction", paris(2025, 4, 20)), ("delivered", paris(2025, 5, 20))]),
    "met_e": ("HDH-2024-0205", TARGET, list(zip(STANDARD, (
        paris(2024, 11, 4), paris(2024, 11, 8), paris(2024, 12, 10), paris(2025, 2, 1), paris(2025, 3, 1),
        paris(2025, 4, 15), paris(2025, 6, 2)), strict=True))),
    "single": ("HDH-2024-0206", "snds", [
        ("submitted", paris(2024, 1, 5)), ("cesrees_review", paris(2024, 1, 10)), ("cnil_review", paris(2024, 2, 10)),
        ("contracting", paris(2024, 4, 1)), ("extraction", paris(2024, 9, 1)), ("delivered", paris(2024, 11, 15))]),
}


@pytest.fixture
def headline_history(db, tmp_path, settings) -> dict[str, str]:
    """The requests of ``HISTORY``, brought in by the history import (which materialises their
    delay rows). Maps a name to the request's reference."""
    from access_requests.history_import import import_history

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HDH_DASHBOARD_CACHE_SECONDS = 0
    path = tmp_path / "history.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["reference", "at", "state", "datasets", "requires_matching", "title"])
        for reference, codes, steps in HISTORY.values():
            writer.writerow([reference, (steps[0][1] - dt.timedelta(days=1)).isoformat(), "draft", codes, "",
                             "Parcours de soins après un AVC"])
            for state, at in steps:
                writer.writerow([reference, at.isoformat(), state, "", "", ""])
    import_history(path)
    return {name: reference for name, (reference, _codes, _steps) in HISTORY.items()}


def target_delivered() -> list[RequestDelay]:
    return list(RequestDelay.objects.filter(requires_matching=True, delivered_at__isnull=False))


def expected_headline(rows: list[RequestDelay]) -> dict:
    """The headline computed here, independently: stdlib statistics over the rows."""
    days = [r.elapsed_days - r.applicant_days for r in rows]
    met = sum(1 for r in rows if r.target_met)
    return {
        "delivered": len(rows), "met": met, "share_met": round(met / len(rows), 3),
        "mean_institution_days": round(stdlib_statistics.fmean(days), 3),
        "median_institution_days": round(stdlib_statistics.median(days), 3),
        # "inclusive" quantiles interpolate like percentile_cont
        "p90_institution_days": round(stdlib_statistics.quantiles(days, n=10, method="inclusive")[8], 3),
    }


def headline_of(mapping: dict) -> dict:
    return {key: mapping[key] for key in HEADLINE_KEYS}


# --- the definition ------------------------------------------------------------------------
def test_applicant_time_excluded_turns_a_late_delivery_into_a_met_one(headline_history):
    row = RequestDelay.objects.get(request__reference=headline_history["paused"])

    assert row.applicant_days == pytest.approx(40.0)
    assert paris_date(row.delivered_at) == dt.date(2025, 5, 20) > row.deadline == dt.date(2025, 5, 1)
    assert paris_date(row.delivered_at - dt.timedelta(days=row.applicant_days)) <= row.deadline
    assert row.target_met is True
    quarter = next(q for q in statistics.headline_by_quarter(statistics.delivered_target_rows(AS_OF))
                   if q["quarter"] == "2025-Q2")
    assert (quarter["delivered"], quarter["met"], quarter["share"]) == (2, 2, 1.0)
    # institution days leave the applicant's 40 days out; the whole delay keeps them
    assert quarter["mean_days"] == pytest.approx(quarter["mean_elapsed_days"] - 40 / 2)


def test_the_headline_counts_delivered_target_requests_only(headline_history):
    figures = statistics.headline(statistics.delivered_target_rows(AS_OF))

    assert (figures["delivered"], figures["met"], figures["share"]) == (5, 3, 0.6)
    assert statistics.headline_json(figures) == expected_headline(target_delivered())
    before = statistics.headline(statistics.delivered_target_rows(paris(2024, 7, 1)))
    assert before == {"delivered": 0, "met": 0, "share": None, "mean_days": None, "median_days": None,
                      "p90_days": None, "mean_elapsed_days": None}


def test_a_quarter_whose_deliveries_were_all_late_shows_0_percent_and_stays_in_the_series(headline_history):
    series = statistics.headline_by_quarter(statistics.delivered_target_rows(AS_OF))

    q1 = next(q for q in series if q["quarter"] == "2025-Q1")
    assert (q1["delivered"], q1["met"], q1["share"]) == (2, 0, 0.0)
    assert q1["mean_days"] is not None and q1["p90_days"] is not None
    assert (q1["start"], q1["end"]) == (dt.date(2025, 1, 1), dt.date(2025, 3, 31))


def test_a_quarter_without_delivery_says_no_deliveries_never_0_percent(headline_history):
    series = statistics.headline_by_quarter(statistics.delivered_target_rows(AS_OF))

    assert [q["quarter"] for q in series] == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
    q4 = series[1]
    assert (q4["delivered"], q4["met"], q4["share"], q4["mean_days"], q4["median_days"], q4["p90_days"]) == (
        0, 0, None, None, None, None)  # ``single`` was delivered then, but needs no matching
    assert [q["share"] for q in series] == [1.0, None, 0.0, 1.0]


def test_the_series_runs_over_the_asked_quarters_and_leaves_other_deliveries_out(headline_history):
    rows = statistics.delivered_target_rows(AS_OF)

    series = statistics.headline_by_quarter(rows, since=dt.date(2024, 11, 30), through=dt.date(2025, 12, 31))
    assert [(q["quarter"], q["delivered"], q["share"]) for q in series] == [
        ("2024-Q4", 0, None), ("2025-Q1", 2, 0.0), ("2025-Q2", 2, 1.0), ("2025-Q3", 0, None), ("2025-Q4", 0, None)]
    assert statistics.headline_by_quarter(rows.none()) == []
    assert statistics.headline(rows.none())["share"] is None
    assert [q["quarter"] for q in statistics.headline_by_quarter(rows.none(), through=dt.date(2025, 5, 1))] == [
        "2025-Q2"]


@pytest.mark.postgres  # compares the PostgreSQL queries with their Python twins
def test_sql_and_python_give_the_same_headline(headline_history):
    rows = statistics.delivered_target_rows(AS_OF)

    assert statistics._headline_sql(rows) == pytest.approx(statistics._headline_python(rows))
    sql, python = statistics._by_quarter_sql(rows), statistics._by_quarter_python(rows)
    assert list(sql) == list(python) == [dt.date(2024, 7, 1), dt.date(2025, 1, 1), dt.date(2025, 4, 1)]
    for quarter, figures in sql.items():
        assert figures == pytest.approx(python[quarter]), quarter


# --- every screen says the same ------------------------------------------------------------
def test_the_dashboard_the_weekly_email_and_delay_report_give_the_same_headline(headline_history, client, personas):
    expected = expected_headline(target_delivered())

    board = dashboard.build_dashboard(now=AS_OF)
    client.force_login(personas["management"])
    downloaded = json.loads(client.get(reverse("backoffice:delays_json")).content)
    report = json.loads(_delay_report("--as-of", AS_OF.isoformat(), "--format", "json"))
    email = weekly_report.build_content(AS_OF)

    assert headline_of(board["summary"]) == expected
    assert headline_of(downloaded["summary"]) == expected
    assert headline_of(report["summary"]) == expected
    assert statistics.headline_json(email.all_time) == expected
    assert report["summary"]["missed"] == board["summary"]["missed"] == 2
    # and per delivery quarter: the dashboard's series is the email's quarters
    quarters = {q["quarter"]: q for q in board["headline_quarters"]}
    for quarter in (email.this_quarter, email.last_quarter):
        assert headline_of(quarters[quarter["quarter"]]) == statistics.headline_json(quarter)


def test_the_dashboard_series_is_by_delivery_quarter_with_every_quarter(headline_history):
    board = dashboard.build_dashboard(now=AS_OF)

    assert [(q["quarter"], q["delivered"], q["met"], q["share_met"]) for q in board["headline_quarters"]] == [
        ("2024-Q3", 1, 1, 1.0), ("2024-Q4", 0, 0, None), ("2025-Q1", 2, 0, 0.0), ("2025-Q2", 2, 2, 1.0)]
    empty = board["headline_quarters"][1]
    assert empty["mean_institution_days"] is None and empty["p90_institution_days"] is None
    # the access-delay series keeps its keys and its quarters with deliveries
    assert [q["quarter"] for q in board["delivery_quarters"]] == ["2024-Q3", "2025-Q1", "2025-Q2"]
    assert set(board["delivery_quarters"][0]) == {"quarter", "delivered", "mean_access_days", "mean_institution_days"}


# The headline's measures as the dashboard's files name them (French, the default language).
HEADLINE_LABELS = {
    "delivered": "Demandes mises à disposition", "met": "Mises à disposition dans l'objectif",
    "share_met": "Part mise à disposition dans les 7 mois (%)",
    "mean_institution_days": "Délai moyen hors temps du demandeur (jours)",
    "median_institution_days": "Délai médian hors temps du demandeur (jours)",
    "p90_institution_days": "90e centile hors temps du demandeur (jours)",
}


def test_the_dashboard_csv_gives_the_headline(headline_history, client, personas):
    client.force_login(personas["management"])
    rows = csv_rows(client.get(reverse("backoffice:delays_csv")))
    lookup = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}

    expected = expected_headline(target_delivered())
    expected["share_met"] = round(expected["share_met"] * 100, 1)  # a percentage for people
    for key in HEADLINE_KEYS:
        assert lookup[("Synthèse", "", HEADLINE_LABELS[key])] == str(expected[key]).replace(".", ","), key


def _delay_report(*args: str) -> str:
    out = StringIO()
    call_command("delay_report", *args, stdout=out)
    return out.getvalue()


def test_delay_report_text_gives_the_headline_and_says_when_nothing_was_delivered(headline_history):
    text = _delay_report("--as-of", AS_OF.isoformat(), "--format", "text")
    expected = expected_headline(target_delivered())

    assert "Delivered: 5  met: 3  missed: 2  share met: 60.0 %" in text
    assert "(met: delivered within 7 months of submission, applicant time excluded)" in text
    assert (f"Institution time (days, applicant time excluded): mean {expected['mean_institution_days']:.1f}  "
            f"median {expected['median_institution_days']:.1f}  p90 {expected['p90_institution_days']:.1f}") in text
    early = _delay_report("--as-of", "2024-07-01", "--format", "text")
    assert "Delivered: 0  met: 0  missed: 0  share met: no deliveries" in early
    assert json.loads(_delay_report("--as-of", "2024-07-01"))["summary"]["share_met"] is None
