"""The delay report: figures computed by hand on a known history, as_of replay, the command.

The history is made through the services with the clock frozen at chosen Paris instants
(``time_machine``) and the on-commit callbacks executed, so each transition's task
materialises the delay row at the instant of the transition.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from delays.models import RequestDelay
from delays.report import build_report
from delays.rules import STAGES
from tests.conftest import paris

PARIS = ZoneInfo("Europe/Paris")
HOUR = 1 / 24
ROOT = Path(__file__).resolve().parents[2]  # where manage.py is
TARGET_CODES = ("snds", "oscour")
SUMMARY_KEYS = {"delivered", "met", "missed", "late", "at_risk", "on_track", "share_met", "mean_access_days",
                "median_access_days", "bottleneck_stage",
                # the headline's institution days (delays.statistics.headline), added by delay_report
                "mean_institution_days", "median_institution_days", "p90_institution_days",
                # the data holder requests wait for (delays.holders)
                "bottleneck_holder"}
HOLDER_KEYS = {"code", "name", "delivered", "median_days", "p90_days", "open", "overdue", "last_to_deliver"}
STAGE_KEYS = {"count", "mean_days", "median_days", "p90_days"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The personas' passwords are hashed with a fast hasher: these tests are about delays."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]



def midnight(year: int, month: int, day: int) -> dt.datetime:
    return paris(year, month, day, hour=0)


# --- building histories -----------------------------------------------------------------
@pytest.fixture
def story(player):
    """Create a draft, then run each ``(instant, step)`` through the services at that instant.

    Returns the request's reference.
    """

    def make(*steps, codes=TARGET_CODES, created=None):
        return player.story(*steps, codes=codes, created=created).reference

    return make


@pytest.fixture
def history(story) -> dict[str, str]:
    """A small history of 2024, known by hand. Maps a name to the request's reference.

    Delivered target requests (stage days: submitted, CESREES, CNIL, contracting, matching,
    extraction; every CNIL review spans the switch to summer time and is one hour shorter):
    - met:    10, 30, 60, 30, 40, 27 = 197 days - 1 h, delivered 30 July (deadline 15 August);
    - missed: 16, 34, 71, 31, 51, 22 = 225 days - 1 h, delivered 1 September (deadline 20 August);
    - paused: 7 (4 + 3 around a 7-day pause), 29, 48, 20, 20, 10 = 141 days - 1 h, met.
    Open target requests on 1 October 2024: late (in CNIL review since 20 March, deadline
    10 September), at_risk (in CESREES review since 10 June, deadline 3 January), on_track
    (submitted 16 September). Closed: rejected, withdrawn. Out of the target population:
    a single-source request delivered 30 March. And a draft, which is nowhere.
    """
    return {
        "single": story((paris(2024, 1, 10), "submit"), (paris(2024, 1, 20), "forward"),
                        (paris(2024, 2, 10), "opinion"), (paris(2024, 3, 1), "authorise"),
                        (paris(2024, 3, 10), "contract"), (paris(2024, 3, 30), "deliver"), codes=("snds",)),
        "met": story((paris(2024, 1, 15), "submit"), (paris(2024, 1, 25), "forward"), (paris(2024, 2, 24), "opinion"),
                     (paris(2024, 4, 24), "authorise"), (paris(2024, 5, 24), "contract"),
                     (paris(2024, 7, 3), "matched"), (paris(2024, 7, 30), "deliver"), (paris(2024, 8, 5), "close")),
        "missed": story((paris(2024, 1, 20), "submit"), (paris(2024, 2, 5), "forward"),
                        (paris(2024, 3, 10), "opinion"), (paris(2024, 5, 20), "authorise"),
                        (paris(2024, 6, 20), "contract"), (paris(2024, 8, 10), "matched"),
                        (paris(2024, 9, 1), "deliver")),
        "paused": story((paris(2024, 2, 1), "submit"), (paris(2024, 2, 5), "ask"), (paris(2024, 2, 12), "answer"),
                        (paris(2024, 2, 15), "forward"), (paris(2024, 3, 15), "opinion"),
                        (paris(2024, 5, 2), "authorise"), (paris(2024, 5, 22), "contract"),
                        (paris(2024, 6, 11), "matched"), (paris(2024, 6, 21), "deliver")),
        "late": story((paris(2024, 2, 10), "submit"), (paris(2024, 2, 20), "forward"), (paris(2024, 3, 20), "opinion")),
        "rejected": story((paris(2024, 3, 1), "submit"), (paris(2024, 3, 5), "reject")),
        "withdrawn": story((paris(2024, 3, 2), "submit"), (paris(2024, 3, 10), "forward"),
                           (paris(2024, 4, 1), "withdraw")),
        "at_risk": story((paris(2024, 6, 3), "submit"), (paris(2024, 6, 10), "forward")),
        "on_track": story((paris(2024, 9, 16), "submit")),
        "draft": story(created=paris(2024, 5, 1)),
    }


def applications(report: dict) -> dict[str, dict]:
    return {app["reference"]: app for app in report["applications"]}


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("delay_report", *args, stdout=out)
    return out.getvalue()


# --- figures ----------------------------------------------------------------------------
def test_summary_counts_delivered_met_missed_and_open_statuses_of_the_target_population(small_history_is_enough, history):
    report = build_report(midnight(2024, 10, 1))

    assert report["as_of"] == "2024-10-01T00:00:00+02:00"
    assert report["target_months"] == 7
    assert report["summary"] == {
        "delivered": 3, "met": 2, "missed": 1,
        "late": 1, "at_risk": 1, "on_track": 1,
        "share_met": 0.667,
        # the headline's institution days: 197, 225 and 141 - 7 days awaiting the applicant (- 1 h each)
        "mean_institution_days": 185.292, "median_institution_days": 196.958,
        "p90_institution_days": 219.358,  # 196.958 + 0.8 * (224.958 - 196.958)
        "mean_access_days": 187.625,  # (197 + 225 + 141) / 3 - 1 h
        "median_access_days": 196.958,  # 197 - 1 h
        "bottleneck_stage": "cnil_review",
        # The CNAM and Santé publique France deliver together (tests.conftest.Player), each last
        # as often: the higher median wins, Santé publique France's (the CNAM's counts the quick
        # single-source request too).
        "bottleneck_holder": "spf",
    }


def test_stage_statistics_cover_delivered_target_requests_that_spent_time_in_the_stage(history):
    stages = build_report(midnight(2024, 10, 1))["stages"]

    assert list(stages) == list(STAGES)
    assert stages == {
        "submitted": {"count": 3, "mean_days": 11.0, "median_days": 10.0, "p90_days": 14.8},  # 7, 10, 16
        "cesrees_review": {"count": 3, "mean_days": 31.0, "median_days": 30.0, "p90_days": 33.2},  # 29, 30, 34
        # 48, 60, 71 days, each one hour shorter
        "cnil_review": {"count": 3, "mean_days": 59.625, "median_days": 59.958, "p90_days": 68.758},
        "contracting": {"count": 3, "mean_days": 27.0, "median_days": 30.0, "p90_days": 30.8},  # 20, 30, 31
        "matching": {"count": 3, "mean_days": 37.0, "median_days": 40.0, "p90_days": 48.8},  # 20, 40, 51
        "extraction": {"count": 3, "mean_days": 19.667, "median_days": 22.0, "p90_days": 26.0},  # 10, 22, 27
        "awaiting_applicant": {"count": 1, "mean_days": 7.0, "median_days": 7.0, "p90_days": 7.0},
    }


def test_detail_lists_every_submitted_request_with_its_status_as_of_the_report(small_history_is_enough, history):
    report = build_report(midnight(2024, 10, 1), detail=True)

    listed = [(app["reference"], app["state"], app["status"], app["requires_matching"])
              for app in report["applications"]]
    assert listed == [  # by submission instant
        (history["single"], "delivered", "met", False),
        (history["met"], "closed", "met", True),
        (history["missed"], "delivered", "missed", True),
        (history["paused"], "delivered", "met", True),
        (history["late"], "cnil_review", "late", True),
        (history["rejected"], "rejected", "closed", True),
        (history["withdrawn"], "withdrawn", "closed", True),
        (history["at_risk"], "cesrees_review", "at_risk", True),
        (history["on_track"], "submitted", "on_track", True),
    ]
    assert history["draft"] not in applications(report)


def test_an_open_request_is_measured_up_to_the_report_instant_from_its_materialised_row(history):
    late = applications(build_report(midnight(2024, 10, 1), detail=True))[history["late"]]

    # The row was computed on 20 March at 10:00; the report runs its CNIL stay on to
    # 1 October at 00:00: 195 days - 10 h - 1 h of summer time.
    assert late["stage_days"]["submitted"] == 10.0
    assert late["stage_days"]["cesrees_review"] == 29.0
    assert late["stage_days"]["cnil_review"] == round(195 - 11 * HOUR, 3)
    assert late["elapsed_days"] == round(234 - 11 * HOUR, 3)
    assert late["applicant_days"] == 0.0
    assert late["deadline"] == "2024-09-10"
    assert late["delivered_at"] is None and late["target_met"] is None


def test_a_delivered_request_detail_has_its_final_figures_whatever_the_report_instant(history):
    for as_of in (midnight(2024, 10, 1), midnight(2025, 6, 1)):
        missed = applications(build_report(as_of, detail=True))[history["missed"]]
        assert missed["delivered_at"] == "2024-09-01T08:00:00+00:00"
        assert missed["deadline"] == "2024-08-20"
        assert missed["target_met"] is False
        assert missed["elapsed_days"] == round(225 - HOUR, 3)
        assert missed["stage_days"] == {
            "submitted": 16.0, "cesrees_review": 34.0, "cnil_review": round(71 - HOUR, 3), "contracting": 31.0,
            "matching": 51.0, "extraction": 22.0, "awaiting_applicant": 0.0,
        }


# --- pauses -----------------------------------------------------------------------------
PAUSED_TWICE_IN_CESREES = (
    (paris(2024, 1, 15), "submit"), (paris(2024, 1, 22), "forward"),
    (paris(2024, 1, 29), "ask"), (paris(2024, 2, 8), "answer"),  # CESREES 7 days, applicant 10
    (paris(2024, 2, 12), "ask"), (paris(2024, 2, 15), "answer"),  # CESREES 4 days, applicant 3
    (paris(2024, 2, 29), "opinion"),  # CESREES 14 days
    (paris(2024, 3, 10), "ask"), (paris(2024, 4, 10), "answer"),  # CNIL 10 days, applicant 31 - 1 h
    (paris(2024, 5, 10), "authorise"),  # CNIL 30 days
    (paris(2024, 6, 1), "contract"), (paris(2024, 6, 15), "matched"), (paris(2024, 6, 25), "deliver"),
)


def test_time_waiting_on_the_applicant_is_summed_over_pauses_and_kept_out_of_stage_time(story):
    reference = story(*PAUSED_TWICE_IN_CESREES)

    app = applications(build_report(midnight(2024, 7, 1), detail=True))[reference]
    assert app["applicant_days"] == round(44 - HOUR, 3)
    assert app["stage_days"] == {
        "submitted": 7.0, "cesrees_review": 25.0, "cnil_review": 40.0, "contracting": 22.0, "matching": 14.0,
        "extraction": 10.0, "awaiting_applicant": round(44 - HOUR, 3),
    }
    assert app["elapsed_days"] == round(162 - HOUR, 3)
    assert app["status"] == "met"

    delay = RequestDelay.objects.get(request__reference=reference)
    assert delay.applicant_days == pytest.approx(44 - HOUR)
    assert delay.elapsed_days - delay.applicant_days == pytest.approx(118.0)  # institution time
    assert [v["stage"] for v in delay.visits].count("cesrees_review") == 3
    assert [v["stage"] for v in delay.visits].count("awaiting_applicant") == 3


def test_a_report_during_a_pause_counts_the_pause_so_far_as_applicant_time(story):
    replayed = story(*PAUSED_TWICE_IN_CESREES)  # later events: replayed from the event log
    still_waiting = story(*PAUSED_TWICE_IN_CESREES[:5])  # last event 12 February: from its row

    apps = applications(build_report(midnight(2024, 4, 1), detail=True))

    # Replayed: 10 + 3 days, then 10 March 10:00 to 1 April 00:00 (22 days - 10 h - 1 h).
    assert apps[replayed]["state"] == "awaiting_applicant"
    assert apps[replayed]["applicant_days"] == round(35 - 11 * HOUR, 3)
    assert apps[replayed]["stage_days"]["cnil_review"] == 10.0
    assert apps[replayed]["stage_days"]["cesrees_review"] == 25.0
    # From the row: 10 days, then 12 February 10:00 to 1 April 00:00 (49 days - 10 h - 1 h).
    assert apps[still_waiting]["state"] == "awaiting_applicant"
    assert apps[still_waiting]["applicant_days"] == round(59 - 11 * HOUR, 3)
    assert apps[still_waiting]["stage_days"]["cesrees_review"] == 11.0
    assert apps[still_waiting]["status"] == "on_track"


# --- as_of replay -----------------------------------------------------------------------
def test_a_report_before_a_delivery_shows_the_request_open_with_stage_days_cut_at_as_of(small_history_is_enough, history):
    report = build_report(midnight(2024, 8, 1), detail=True)
    apps = applications(report)

    missed = apps[history["missed"]]
    assert missed["state"] == "matching"
    assert missed["delivered_at"] is None and missed["target_met"] is None
    assert missed["status"] == "on_track"
    # In matching since 20 June 10:00: cut at 1 August 00:00.
    assert missed["stage_days"] == {
        "submitted": 16.0, "cesrees_review": 34.0, "cnil_review": round(71 - HOUR, 3), "contracting": 31.0,
        "matching": round(42 - 10 * HOUR, 3), "extraction": 0.0, "awaiting_applicant": 0.0,
    }
    assert missed["elapsed_days"] == round(194 - 11 * HOUR, 3)
    # Delivered on 30 July, closed on 5 August: delivered as of 1 August.
    assert apps[history["met"]]["state"] == "delivered"
    assert apps[history["met"]]["status"] == "met"
    assert history["on_track"] not in apps  # submitted on 16 September
    summary = report["summary"]
    assert (summary["delivered"], summary["met"], summary["missed"]) == (2, 2, 0)
    assert (summary["late"], summary["at_risk"], summary["on_track"]) == (0, 1, 2)


def test_a_report_before_any_delivery_has_no_access_figures(history):
    report = build_report(midnight(2024, 3, 1))

    summary = report["summary"]
    assert (summary["delivered"], summary["met"], summary["missed"]) == (0, 0, 0)
    assert summary["share_met"] is None and summary["mean_access_days"] is None
    assert summary["median_access_days"] is None and summary["bottleneck_stage"] is None
    assert all(stage == {"count": 0, "mean_days": None, "median_days": None, "p90_days": None}
               for stage in report["stages"].values())
    assert summary["on_track"] == 4  # met, missed, paused, late: all still open then


def test_the_forecast_and_status_do_not_depend_on_the_time_zone_the_report_instant_is_written_in(history, story):
    # Regression: the forecast used to be `as_of + timedelta`, wall-clock arithmetic on a Paris
    # as_of (what `--as-of DATE` gives), one hour off across a DST change (fixed in 5428df9).
    # In CNIL review since 1 July, beyond the CNIL median: contracting 30 + matching 40 +
    # extraction 22 = 92 days remain. 92 days of 86 400 s after 1 October 00:00 Paris is
    # 31 December 23:00 Paris (winter time since 27 October): the deadline day, on track.
    edge = story((paris(2024, 5, 31), "submit"), (paris(2024, 6, 5), "forward"), (paris(2024, 7, 1), "opinion"))
    as_of = midnight(2024, 10, 1)

    in_utc = applications(build_report(as_of.astimezone(dt.UTC), detail=True))
    in_paris = applications(build_report(as_of, detail=True))

    assert in_utc[edge]["deadline"] == "2024-12-31"
    assert dt.datetime.fromisoformat(in_utc[edge]["forecast_at"]) == as_of + dt.timedelta(days=92) - dt.timedelta(hours=1)
    assert in_utc[edge]["status"] == "on_track"
    assert in_paris[edge]["status"] == "on_track"
    assert applications(json.loads(run_command("--as-of", "2024-10-01", "--detail")))[edge]["status"] == "on_track"
    assert {ref: app["forecast_at"] and dt.datetime.fromisoformat(app["forecast_at"]) for ref, app in in_paris.items()} == {
        ref: app["forecast_at"] and dt.datetime.fromisoformat(app["forecast_at"]) for ref, app in in_utc.items()}


# --- the command ------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "as_of"), [
    ("2024-06-01", "2024-06-01T00:00:00+02:00"),  # a date: 00:00 in Paris, summer time
    ("2024-01-15", "2024-01-15T00:00:00+01:00"),  # winter time
    ("2024-06-01T12:30:00", "2024-06-01T12:30:00+02:00"),  # no offset: Paris time
    ("2024-06-01T12:30:00Z", "2024-06-01T12:30:00+00:00"),
])
def test_as_of_is_read_as_a_paris_date_or_a_date_time(db, given, as_of):
    report = json.loads(run_command("--as-of", given, "--format", "json"))
    assert report["as_of"] == as_of


def test_as_of_defaults_to_now(db):
    with time_machine.travel(paris(2024, 6, 1, hour=14), tick=False):
        report = json.loads(run_command())
    assert dt.datetime.fromisoformat(report["as_of"]) == paris(2024, 6, 1, hour=14)


def test_json_has_exactly_the_documented_keys_and_applications_only_with_detail(history):
    plain = json.loads(run_command("--as-of", "2024-10-01", "--format", "json"))
    detailed = json.loads(run_command("--as-of", "2024-10-01", "--format", "json", "--detail"))

    assert set(plain) == {"as_of", "target_months", "summary", "stages", "holders"}
    assert set(detailed) == {"as_of", "target_months", "summary", "stages", "holders", "applications"}
    for report in (plain, detailed):
        assert set(report["summary"]) == SUMMARY_KEYS
        assert set(report["stages"]) == set(STAGES)
        assert all(set(stage) == STAGE_KEYS for stage in report["stages"].values())
        assert report["holders"] and all(set(holder) == HOLDER_KEYS for holder in report["holders"].values())
    assert plain["summary"] == detailed["summary"] and plain["stages"] == detailed["stages"]
    assert len(detailed["applications"]) == 9
    assert {"reference", "state", "status", "requires_matching", "stage_days"} <= set(detailed["applications"][0])


def test_text_format_shows_the_summary_and_the_stage_table(small_history_is_enough, history):
    text = run_command("--as-of", "2024-10-01", "--format", "text")

    assert "2024-10-01T00:00:00+02:00" in text
    assert "Delivered: 3  met: 2  missed: 1  share met: 66.7 %" in text
    assert "Access delay (days): mean 187.6  median 197.0" in text
    assert "Open: late 1  at risk 1  on track 1" in text
    assert "Bottleneck stage: cnil_review" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.split()}
    assert rows["stage"] == ["count", "mean", "median", "p90"]
    assert rows["submitted"] == ["3", "11.0", "10.0", "14.8"]
    assert rows["cesrees_review"] == ["3", "31.0", "30.0", "33.2"]
    assert rows["awaiting_applicant"] == ["1", "7.0", "7.0", "7.0"]
    assert history["met"] not in text


def test_text_format_with_detail_lists_the_requests(history):
    text = run_command("--as-of", "2024-10-01", "--format", "text", "--detail")

    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("HDH-")}
    assert set(lines) == {ref for name, ref in history.items() if name != "draft"}
    assert lines[history["missed"]][1:4] == ["delivered", "2024-01-20", "2024-08-20"]
    assert lines[history["missed"]][-1] == "missed"


def test_csv_format_has_a_header_and_one_row_per_submitted_request(history):
    rows = list(csv.DictReader(StringIO(run_command("--as-of", "2024-10-01", "--format", "csv"))))

    assert list(rows[0]) == ["reference", "state", "requires_matching", "submitted_at", "delivered_at", "deadline",
                             "elapsed_days", "applicant_days", *(f"days_{s}" for s in STAGES), "target_met",
                             "status"]
    by_reference = {row["reference"]: row for row in rows}
    assert len(rows) == 9
    assert set(by_reference) == {ref for name, ref in history.items() if name != "draft"}
    missed = by_reference[history["missed"]]
    assert (missed["status"], missed["target_met"], missed["days_matching"]) == ("missed", "False", "51.0")
    late = by_reference[history["late"]]
    assert (late["status"], late["target_met"], late["delivered_at"]) == ("late", "", "")


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "xml"], "--format: unknown format 'xml'; use json, text or csv"),
    (["--as-of", "2024-13-45"], "--as-of: cannot read '2024-13-45'"),
    (["--as-of", "demain"], "--as-of: cannot read 'demain'"),
])
def test_bad_arguments_raise_a_clear_command_error(db, args, message):
    with pytest.raises(CommandError) as error:
        run_command(*args)
    assert message in str(error.value)


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "xml"], "unknown format 'xml'; use json, text or csv"),
    (["--as-of", "2024-13-45"], "cannot read '2024-13-45'; give a date"),
])
def test_the_real_command_exits_non_zero_with_the_message_on_stderr(args, message):
    result = subprocess.run([sys.executable, "manage.py", "delay_report", *args], cwd=ROOT,
                            env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""


# --- SQLite and PostgreSQL agree ----------------------------------------------------------
HISTORY_CSV = """\
reference,at,state,datasets,requires_matching,title
HDH-2025-0001,2025-01-13T09:00:00Z,submitted,snds;oscour,,Parcours de soins après un AVC
HDH-2025-0001,2025-01-24T09:00:00Z,cesrees_review,,,
HDH-2025-0001,2025-02-24T09:00:00Z,cnil_review,,,
HDH-2025-0001,2025-04-28T08:00:00Z,contracting,,,
HDH-2025-0001,2025-05-26T08:00:00Z,matching,,,
HDH-2025-0001,2025-07-01T08:00:00Z,extraction,,,
HDH-2025-0001,2025-07-28T08:00:00Z,delivered,,,
HDH-2025-0002,2025-01-02T09:00:00Z,draft,snds;oscour,,Urgences et réhospitalisations
HDH-2025-0002,2025-01-20T10:00:00Z,submitted,,,
HDH-2025-0002,2025-01-27T10:00:00Z,awaiting_applicant,,,
HDH-2025-0002,2025-02-10T10:00:00Z,submitted,,,
HDH-2025-0002,2025-02-17T10:00:00Z,cesrees_review,,,
HDH-2025-0002,2025-03-31T08:00:00Z,cnil_review,,,
HDH-2025-0002,2025-07-15T08:00:00Z,contracting,,,
HDH-2025-0002,2025-08-01T08:00:00Z,matching,,,
HDH-2025-0002,2025-09-01T08:00:00Z,extraction,,,
HDH-2025-0002,2025-09-20T08:00:00Z,delivered,,,
HDH-2025-0002,2025-10-01T08:00:00Z,closed,,,
HDH-2025-0003,2025-02-03T09:00:00Z,submitted,snds,true,Cohorte régionale appariée au SNDS
HDH-2025-0003,2025-02-10T09:00:00Z,cesrees_review,,,
HDH-2025-0003,2025-02-20T09:00:00Z,awaiting_applicant,,,
HDH-2025-0003,2025-03-05T09:00:00Z,cesrees_review,,,
HDH-2025-0003,2025-03-25T09:00:00Z,cnil_review,,,
HDH-2025-0003,2025-05-20T08:00:00Z,contracting,,,
HDH-2025-0003,2025-06-10T08:00:00Z,matching,,,
HDH-2025-0003,2025-07-10T08:00:00Z,extraction,,,
HDH-2025-0003,2025-08-01T08:00:00Z,delivered,,,
HDH-2025-0004,2025-03-03T09:00:00Z,submitted,snds;oscour,,Sarcomes et recours aux urgences
HDH-2025-0004,2025-03-14T09:00:00Z,cesrees_review,,,
HDH-2025-0004,2025-04-20T08:00:00Z,cnil_review,,,
HDH-2025-0005,2025-09-01T08:00:00Z,submitted,snds;oscour,,Antibiotiques chez l'enfant
HDH-2025-0005,2025-09-10T08:00:00Z,cesrees_review,,,
HDH-2025-0006,2025-12-15T09:00:00Z,submitted,snds;oscour,,Cancers du rein : survie et parcours
HDH-2025-0007,2025-04-01T08:00:00Z,submitted,snds;oscour,,Hors champ
HDH-2025-0007,2025-04-08T08:00:00Z,rejected,,,
HDH-2025-0008,2025-04-02T08:00:00Z,submitted,snds;oscour,,Projet abandonné
HDH-2025-0008,2025-04-10T08:00:00Z,awaiting_applicant,,,
HDH-2025-0008,2025-05-01T08:00:00Z,withdrawn,,,
HDH-2025-0009,2025-05-05T08:00:00Z,submitted,snds,false,Hospitalisations pour insuffisance cardiaque
HDH-2025-0009,2025-05-12T08:00:00Z,cesrees_review,,,
HDH-2025-0009,2025-06-02T08:00:00Z,cnil_review,,,
HDH-2025-0009,2025-07-01T08:00:00Z,contracting,,,
HDH-2025-0009,2025-07-20T08:00:00Z,extraction,,,
HDH-2025-0009,2025-08-04T08:00:00Z,delivered,,,
HDH-2025-0010,2025-11-03T09:00:00Z,submitted,esnd,,Échantillon : consommation de soins
HDH-2025-0010,2025-11-10T09:00:00Z,contracting,,,
HDH-2025-0011,2025-06-01T08:00:00Z,draft,snds,,Brouillon jamais déposé
"""


def _rounded(value):
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _manage_on_sqlite(database: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env["DATABASE_URL"] = f"sqlite:///{database}"
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed on SQLite:\n{result.stderr}"
    return result


def test_the_report_on_sqlite_agrees_with_the_report_on_postgresql(db, tmp_path):
    from django.db import connection

    assert connection.vendor == "postgresql", "run this suite with DATABASE_URL=postgres://... (see Makefile)"
    path = tmp_path / "history.csv"
    path.write_text(HISTORY_CSV, encoding="utf-8")

    call_command("import_history", str(path), stdout=StringIO())
    on_postgresql = json.loads(run_command("--as-of", "2025-12-31", "--format", "json", "--detail"))

    database = tmp_path / "x.sqlite3"
    _manage_on_sqlite(database, "migrate", "--noinput", "-v", "0")
    _manage_on_sqlite(database, "import_history", str(path))
    on_sqlite = json.loads(_manage_on_sqlite(database, "delay_report", "--as-of", "2025-12-31", "--format", "json",
                                             "--detail").stdout)

    assert on_postgresql["summary"]["delivered"] == 3  # the figures are not trivially empty
    assert len(on_postgresql["applications"]) == 10
    # Three delivered requests are too few to call one at risk (rule 6): both say on track.
    assert {app["status"] for app in on_postgresql["applications"]} == {
        "met", "missed", "late", "on_track", "closed"}
    assert _rounded(on_sqlite) == _rounded(on_postgresql)


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "9999-12-31T23:00:00-05:00"])
def test_as_of_out_of_the_calendar_is_a_clear_error(value):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="between 1900 and 2200"):
        call_command("delay_report", "--as-of", value)
