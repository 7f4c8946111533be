"""The weekly delay report email: figures, lists, chart, CSV, subscribers, once per week."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import os
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from PIL import Image

from hdh_access.lib.numbers import figure
from notifications import tasks, weekly_report
from notifications.models import OutboxMessage, OutboxStatus
from tests.conftest import paris
from tests.e2e.conftest import screenshots_dir

AS_OF = paris(2025, 6, 16, 8)  # a Monday, 08:00 Paris: ISO week 2025-W25, second quarter
TARGET_PATH = ["submitted", "cesrees_review", "cnil_review", "contracting", "matching", "extraction", "delivered"]


def walk(reference, start, gaps, *, codes="snds;oscour", title="Parcours de soins après un AVC"):
    """CSV rows of a request along the standard path: submitted at ``start``, each next
    state ``gaps[i]`` days later (single-source requests skip matching)."""
    path = TARGET_PATH if ";" in codes else [s for s in TARGET_PATH if s != "matching"]
    rows = [(reference, (start - dt.timedelta(days=1)).isoformat(), "draft", codes, title)]
    when = start
    for state, gap in zip(path, [0, *gaps], strict=False):
        when += dt.timedelta(days=gap)
        rows.append((reference, when.isoformat(), state, "", ""))
    return rows


HISTORY = {
    "q1_met": walk("HDH-2024-0101", paris(2024, 8, 1), [7, 30, 60, 40, 40, 25]),
    "q1_missed": walk("HDH-2024-0102", paris(2024, 7, 1), [10, 35, 70, 50, 60, 32]),
    "q2_met": walk("HDH-2024-0103", paris(2024, 11, 4), [5, 30, 55, 30, 40, 37]),
    "q2_missed": walk("HDH-2024-0104", paris(2024, 10, 1), [9, 33, 80, 50, 60, 22]),
    "q2_met_2": walk("HDH-2024-0105", paris(2024, 12, 2), [6, 28, 50, 30, 40, 28]),
    "late_75": walk("HDH-2024-0106", paris(2024, 9, 2), [8, 31, 75, 60, 60],
                    title="Cancers pédiatriques et environnement"),
    "late_32": walk("HDH-2024-0107", paris(2024, 10, 15), [10, 30], title="Vaccination et hospitalisations"),
    "at_risk_a": walk("HDH-2025-0108", paris(2025, 1, 10), [7, 30, 90]),
    "at_risk_b": walk("HDH-2024-0109", paris(2024, 12, 16), [8, 35, 70, 50]),
    "on_track": walk("HDH-2025-0110", paris(2025, 5, 26), [7]),
    "single": walk("HDH-2025-0111", paris(2025, 1, 6), [5, 30, 40, 20, 30], codes="snds"),
}


@pytest.fixture
def history(db, tmp_path) -> dict[str, str]:
    """Target requests (two data sources, so matching is needed) and one single-source
    request, brought in by the history import (fast, and the same delay rows).

    Delivered in the first quarter: ``q1_met`` (20 February, deadline 1 March) and
    ``q1_missed`` (15 March, deadline 1 February). Delivered in the second quarter:
    ``q2_met`` (20 May), ``q2_met_2`` (2 June) and ``q2_missed`` (12 June, in the report's
    week, deadline 1 May). Open on 16 June: ``late_75`` (deadline 2 April), ``late_32``
    (deadline 15 May), two at risk whose forecast ends after their deadline, one on track.
    """
    from access_requests.history_import import import_history

    path = tmp_path / "history.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["reference", "at", "state", "datasets", "requires_matching", "title"])
        for rows in HISTORY.values():
            for reference, at, state, codes, title in rows:
                writer.writerow([reference, at, state, codes, "", title])
    import_history(path)
    return {name: rows[0][0] for name, rows in HISTORY.items()}


@pytest.fixture
def subscribers(personas):
    """Management (French) and a CESREES reviewer (English) subscribed; an applicant who
    switched it on gets nothing (the report names other organisations' requests); the CNIL
    reviewer did not subscribe."""
    for name, language, subscribed in (("management", "fr", True), ("cesrees", "en", True),
                                       ("applicant", "fr", True), ("cnil", "fr", False)):
        profile = personas[name].profile
        profile.language, profile.weekly_report = language, subscribed
        profile.save()
    return personas


def text_of(message, subtype):
    return message.get_body(preferencelist=(subtype,)).get_content()


# --- figures -----------------------------------------------------------------------------
def test_headline_figures_cover_the_target_population_by_quarter_and_since_last_week(small_history_is_enough, history):
    content = weekly_report.build_content(AS_OF)

    assert content.week == "2025-W25" and content.week_monday == dt.date(2025, 6, 16)
    q, lq = content.this_quarter, content.last_quarter
    assert (q["label"], q["delivered"], q["met"], round(q["share"], 3)) == ("T2 2025", 3, 2, 0.667)
    assert (lq["label"], lq["delivered"], lq["met"], lq["share"]) == ("T1 2025", 2, 1, 0.5)
    assert content.summary["delivered"] == 5 and content.previous["delivered"] == 4
    assert content.changes["delivered"] == 1  # q2_missed, delivered on 12 June
    assert content.changes["late"] == -1  # q2_missed was late a week ago
    # the headline (delays.statistics): all periods, now and a week ago; institution days
    assert (content.all_time["delivered"], content.all_time["met"]) == (5, 3)
    assert content.all_time["share"] == pytest.approx(content.summary["share_met"], abs=1e-3)
    assert content.changes["mean_days"] == pytest.approx(
        content.all_time["mean_days"] - content.all_time_before["mean_days"])
    assert content.summary["late"] == 2 and content.summary["at_risk"] == 2 and content.summary["on_track"] == 1
    assert content.bottleneck["code"] == "cnil_review"
    assert [s["code"] for s in content.stages] == ["submitted", "cesrees_review", "cnil_review", "contracting",
                                                   "matching", "extraction", "awaiting_applicant"]


def test_late_then_at_risk_requests_are_listed_worst_first_with_back_office_links(small_history_is_enough, history):
    content = weekly_report.build_content(AS_OF)

    listed = [(p["reference"], p["status"]) for p in content.problems]
    assert listed[:2] == [(history["late_75"], "late"), (history["late_32"], "late")]
    assert {r for r, _status in listed[2:]} == {history["at_risk_a"], history["at_risk_b"]}
    assert content.problems[0]["overrun_days"] == 75  # 16 June - 2 April
    assert content.problems[1]["overrun_days"] == 32  # 16 June - 15 May
    assert content.problems[2]["overrun_days"] >= content.problems[3]["overrun_days"] > 0
    assert content.problems[0]["url"] == f"http://127.0.0.1:8000/backoffice/requests/{history['late_75']}/"
    assert content.problems[0]["title"] == "Cancers pédiatriques et environnement"
    assert history["single"] not in {p["reference"] for p in content.problems}


def _csv_dicts(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: spreadsheets read it as UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_the_csv_lists_every_submitted_request_in_the_recipients_language(history, settings):
    settings.SITE_URL = "https://acces.example"
    content = weekly_report.build_content(AS_OF)

    rows = _csv_dicts(weekly_report.csv_bytes(content, language="fr"))
    assert sorted(r["Référence"] for r in rows) == sorted(history.values())
    late = next(r for r in rows if r["Référence"] == history["late_75"])
    assert (late["Situation par rapport à l'objectif"], late["État"], late["Date limite de l'objectif"], late["Appariement nécessaire"]) == (
        "Objectif dépassé", "Extraction", "2025-04-02", "Oui")
    assert late["Lien"] == f"https://acces.example/backoffice/requests/{history['late_75']}/"
    elapsed = next(a["elapsed_days"] for a in content.applications if a["reference"] == history["late_75"])
    assert isinstance(elapsed, float) and late["Durée écoulée (jours)"] == str(elapsed).replace(".", ",")
    assert set(rows[0]) >= {"Jours : Autorisation CNIL", "Jours : Compléments demandés", "Mise à disposition prévue le"}
    english = _csv_dicts(weekly_report.csv_bytes(content, language="en"))
    late = next(r for r in english if r["Reference"] == history["late_75"])
    assert (late["Target status"], late["Status"], late["Target deadline"], late["Matching needed"]) == (
        "Over target", "Extraction", "2025-04-02", "Yes")
    assert "Days: CNIL authorisation" in late and late["Elapsed (days)"] == str(elapsed)


def test_the_chart_is_a_png_drawn_at_twice_its_display_width(history):
    png = weekly_report.chart_png(weekly_report.build_content(AS_OF))

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == 1280 and image.height > 400


# --- recipients and the outbox ------------------------------------------------------------
def test_each_subscriber_gets_one_report_a_week_whatever_runs_how_often(history, subscribers):
    first = weekly_report.queue_weekly_reports(as_of=AS_OF)
    again = weekly_report.queue_weekly_reports(as_of=AS_OF + dt.timedelta(hours=3))  # a beat firing twice

    assert sorted(row.to for row in first.created) == ["cesrees@hdh.example", "direction@hdh.example"]
    assert {row.key for row in first.created} == {"weekly-report:2025-W25:cesrees@hdh.example",
                                                  "weekly-report:2025-W25:direction@hdh.example"}
    assert again.created == [] and again.already == 2
    next_week = weekly_report.queue_weekly_reports(as_of=AS_OF + dt.timedelta(days=7))
    assert len(next_week.created) == 2
    assert OutboxMessage.objects.filter(key__startswith="weekly-report:").count() == 4


def test_the_report_email_has_text_html_an_inline_chart_and_the_csv(small_history_is_enough, history, subscribers, smtp):
    result = weekly_report.queue_weekly_reports(as_of=AS_OF)
    from notifications import outbox

    outbox.send_pending()

    (message,) = [m for m in smtp.accepted if m["To"] == "direction@hdh.example"]
    assert " ".join(str(message["Subject"]).split()) == (
        "Délais d'accès, semaine du 16 juin 2025 : 67 % livrées en 7 mois ce trimestre")
    html = text_of(message, "html")
    text = text_of(message, "plain")
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<delay-chart>" and 'src="cid:delay-chart"' in html
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "rapport-delais-2025-W25.csv"
    assert history["late_75"] in attachment.get_content()
    for body in (text, html):
        assert "67" in body and "T2 2025" in body and "T1 2025" in body
        assert "Autorisation CNIL" in body
        assert f"http://127.0.0.1:8000/backoffice/requests/{history['late_75']}/" in body
    assert text.index(history["late_75"]) < text.index(history["late_32"]) < text.index(history["at_risk_a"])
    assert "<table" in html and 'style="' in html and "<style" not in html  # inline CSS only
    assert OutboxMessage.objects.filter(pk__in=[r.pk for r in result.created], status=OutboxStatus.SENT).count() == 2


def test_a_subscriber_reads_the_report_in_their_language(history, subscribers, english):
    weekly_report.queue_weekly_reports(as_of=AS_OF)

    row = OutboxMessage.objects.get(to="cesrees@hdh.example", key__startswith="weekly-report:")
    assert row.language == "en" and row.attachment_name == "delay-report-2025-W25.csv"
    assert row.subject == "Access delays, week of 16 June 2025: 67% delivered within 7 months this quarter"
    assert "KEY FIGURES" in row.text and "Bottleneck:" in row.html and "CNIL authorisation" in row.html
    french = OutboxMessage.objects.get(to="direction@hdh.example", key__startswith="weekly-report:")
    assert french.inline_image != row.inline_image  # the chart's labels are translated too


def test_a_report_before_any_delivery_says_so(db, subscribers):
    result = weekly_report.queue_weekly_reports(as_of=AS_OF)

    row = next(r for r in result.created if r.to == "direction@hdh.example")
    assert row.subject == "Délais d'accès, semaine du 16 juin 2025 : aucune livraison ce trimestre"
    assert "Aucune demande en retard ni à risque." in row.text


def test_the_beat_task_sends_the_report_once(history, subscribers, smtp):
    with time_machine.travel(AS_OF, tick=False):
        assert tasks.send_weekly_report.delay().get() == 2
        assert tasks.send_weekly_report.delay().get() == 0

    reports = [m for m in smtp.accepted if m.get_content_type() == "multipart/mixed"]
    assert sorted(m["To"] for m in reports) == ["cesrees@hdh.example", "direction@hdh.example"]


# --- the command ---------------------------------------------------------------------------
def test_dry_run_prints_the_subject_and_text_and_sends_nothing(history, subscribers, capsys, smtp):
    sent_before = len(smtp.accepted)

    call_command("send_weekly_report", "--dry-run", "--as-of", "2025-06-16T08:00:00+02:00")

    out = capsys.readouterr().out
    assert "Dry run, week 2025-W25: nothing is written or sent." in out
    assert "To: direction@hdh.example [fr]" in out and "To: cesrees@hdh.example [en]" in out
    assert "Subject: Délais d'accès, semaine du 16 juin 2025 : 67 % livrées en 7 mois ce trimestre" in out
    assert "CHIFFRES CLÉS" in out and history["late_75"] in out
    assert not OutboxMessage.objects.filter(key__startswith="weekly-report:").exists()
    assert len(smtp.accepted) == sent_before


def test_the_command_sends_to_an_address_for_a_chosen_date(history, capsys, smtp):
    call_command("send_weekly_report", "--to", "Pilotage@HDH.example", "--as-of", "2025-06-16")
    call_command("send_weekly_report", "--to", "Pilotage@HDH.example", "--as-of", "2025-06-17")

    out = capsys.readouterr().out
    assert "Week 2025-W25: 1 report(s) queued, 0 already queued earlier" in out
    assert "Week 2025-W25: 0 report(s) queued, 1 already queued earlier (not sent again)." in out
    assert [m["To"] for m in smtp.accepted if m.get_content_type() == "multipart/mixed"] == ["Pilotage@HDH.example"]
    assert OutboxMessage.objects.get(key="weekly-report:2025-W25:pilotage@hdh.example").status == OutboxStatus.SENT


def test_the_command_refuses_a_bad_address(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="not an email address"):
        call_command("send_weekly_report", "--to", "nobody")


# --- how it looks ------------------------------------------------------------------------
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_the_html_renders_in_chromium_and_a_screenshot_is_saved(history):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs it")
    content = weekly_report.build_content(AS_OF)
    rendered, chart, _filename = weekly_report.render_report(content, language="fr")
    # A mail client resolves cid: to the related part; the browser gets the same bytes inline.
    html = rendered.html.replace("cid:delay-chart", "data:image/png;base64," + base64.b64encode(chart).decode())
    target = screenshots_dir() / "weekly-report-email.png"  # docs/screenshots/ only with `make screenshots`
    target.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900}, locale="fr-FR")
            page.set_content(html)
            image = page.locator("img").first
            assert image.evaluate("img => img.complete && img.naturalWidth") == 1280
            assert image.bounding_box()["width"] == 640
            layout = page.locator("table[width='720']").first.bounding_box()
            assert layout["width"] == 720  # the layout fits its 720 px column
            assert page.locator("a[href*='/backoffice/requests/']").count() == len(content.problems)
            page.screenshot(path=str(target), full_page=True)
            mobile = browser.new_page(viewport={"width": 390, "height": 800})
            mobile.set_content(html)
            width = mobile.evaluate("document.documentElement.scrollWidth")
            assert width <= 400  # cards stack and tables shrink: readable on a phone
        finally:
            browser.close()
    assert Image.open(target).width == 800


def test_the_roadmap_section_shows_the_indicator_pages_figures(history, subscribers, smtp):
    """The email's "Indicateurs de la feuille de route" are delays.indicators' for the same
    instant: the delay report's headline (/indicateurs/ shows the same)."""
    from django.utils import translation

    from delays.indicators import build_indicators
    from delays.report import build_report
    from notifications import outbox

    content = weekly_report.build_content(AS_OF)
    assert content.indicators == build_indicators(AS_OF)
    summary = build_report(AS_OF)["summary"]
    assert content.indicators["delay"]["mean_days"] == summary["mean_institution_days"]
    assert content.indicators["share"]["value"] == summary["share_met"]
    weekly_report.queue_weekly_reports(as_of=AS_OF)
    outbox.send_pending()
    (message,) = [m for m in smtp.accepted if m["To"] == "direction@hdh.example"]
    with translation.override("fr"):
        rows = weekly_report.roadmap_rows(content.indicators)
    text, html = text_of(message, "plain"), text_of(message, "html")
    assert "INDICATEURS DE LA FEUILLE DE ROUTE" in text and "Indicateurs de la feuille de route" in html
    for body in (text, html):
        assert "http://127.0.0.1:8000/indicateurs/" in body
        for row in rows:
            assert row["value"].replace("'", "&#x27;") in body or row["value"] in body
    mean_months = summary["mean_institution_days"] / weekly_report.DAYS_PER_MONTH
    assert f"{mean_months:.1f}".replace(".", ",") + " mois" in rows[1]["value"]
    # The trends: the last quarter's end, the delay in months and the share in per cent.
    delay_trend, share_trend = content.indicators["delay"]["trend"], content.indicators["share"]["trend"]
    assert delay_trend and share_trend
    with translation.override("fr"):
        assert rows[1]["trend"] == f"{figure(delay_trend[-1]['mean_days'] / weekly_report.DAYS_PER_MONTH, 1)} mois " \
                                   "à la dernière fin de trimestre"
        assert rows[2]["trend"] == f"{figure(share_trend[-1]['value'] * 100)} % à la dernière fin de trimestre"
