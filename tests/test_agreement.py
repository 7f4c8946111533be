"""The portal page, the back-office page and `delay_report --detail` agree on every clock.

The same requests, at the same instant, read through the three: per-visit due dates, overdue
flags and tacit decisions, the 7-month deadline, the elapsed days and the target status. All
three ask delays.clock; this test is what keeps it so.
"""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from access_requests import services
from access_requests.workflow import State
from delays.materialise import materialise_requests, refresh_baseline
from hdh_access.lib.dates import PARIS
from tests.conftest import datasets, paris

AS_OF = dt.datetime(2025, 6, 30, 12, 0, tzinfo=PARIS)



@pytest.fixture
def stories(personas, settings):
    """Four requests, each step taken at its own instant (every row materialised after it)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HDH_DASHBOARD_CACHE_SECONDS = 0

    def story(title, codes, *steps):
        with time_machine.travel(steps[0][0] - dt.timedelta(days=1), tick=False):
            request = services.create_draft(actor=personas["applicant"], title=title, summary="Étude",
                                            datasets=datasets(*codes))
        for at, service, who, kwargs in steps:
            with time_machine.travel(at, tick=False):
                service(request_id=request.pk, actor=personas[who], **kwargs)
                materialise_requests([request.pk], now=at)
        return request.reference

    cnil = {"authorised": True, "decision_number": "DR-2025-007", "decision_date": dt.date(2025, 3, 1)}
    refs = {
        # CESREES gave its opinion late (overdue); CNIL review still open and overdue at AS_OF.
        "cnil_late": story(
            "Cohorte AVC", ("snds", "oscour"),
            (paris(2025, 1, 6), services.submit, "applicant", {}),
            (paris(2025, 1, 10), services.forward_to_cesrees, "secretariat", {}),
            (paris(2025, 3, 20), services.record_cesrees_opinion, "cesrees", {"opinion": "favourable"}),
        ),
        # Still in completeness after its 7 working days.
        "completeness_late": story(
            "Registre cancers", ("snds", "oscour"),
            (paris(2025, 6, 2), services.submit, "applicant", {}),
        ),
        # Waiting on the applicant, paused from the CESREES review.
        "paused": story(
            "Vaccination", ("snds", "oscour"),
            (paris(2025, 5, 5), services.submit, "applicant", {}),
            (paris(2025, 5, 7), services.forward_to_cesrees, "secretariat", {}),
            (paris(2025, 5, 20), services.request_information, "cesrees", {"question": "Quel effectif ?"}),
        ),
        # Through both committees within their periods, then contracting.
        "contracting": story(
            "Parcours de soins", ("snds",),
            (paris(2025, 2, 3), services.submit, "applicant", {}),
            (paris(2025, 2, 5), services.forward_to_cesrees, "secretariat", {}),
            (paris(2025, 2, 25), services.record_cesrees_opinion, "cesrees", {"opinion": "reserved"}),
            (paris(2025, 4, 1), services.record_cnil_decision, "cnil", cnil),
        ),
        # The urgent CESREES procedure, extended once, opinion within the extended period; the CNIL
        # still open and overdue at AS_OF.
        "urgent_extended": story(
            "Alerte sanitaire", ("snds", "oscour"),
            (paris(2025, 3, 3), services.submit, "applicant", {}),
            (paris(2025, 3, 5), services.forward_to_cesrees, "secretariat", {"urgent": True}),
            (paris(2025, 3, 10), services.extend_review, "cesrees", {}),
            (paris(2025, 4, 1), services.record_cesrees_opinion, "cesrees", {"opinion": "favourable"}),
        ),
        # The CNIL asked for a correction (it continues after the answer, 7 days paused).
        "cnil_resumed": story(
            "Suivi des greffes", ("snds", "oscour"),
            (paris(2025, 4, 1), services.submit, "applicant", {}),
            (paris(2025, 4, 2), services.forward_to_cesrees, "secretariat", {}),
            (paris(2025, 4, 15), services.record_cesrees_opinion, "cesrees", {"opinion": "favourable"}),
            (paris(2025, 5, 5), services.request_information, "cnil",
             {"question": "Quelle durée de conservation ?", "reason": "incorrect"}),
            (paris(2025, 5, 12), services.answer_information, "applicant", {"answer": "Vingt ans."}),
        ),
    }
    refresh_baseline(now=AS_OF)  # the forecasts' baseline at the instant, as the nightly job leaves it
    return refs


def _day(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value.isoformat()


def _from_report() -> dict[str, dict]:
    out = StringIO()
    call_command("delay_report", "--as-of", AS_OF.isoformat(), "--format", "json", "--detail", stdout=out)
    apps = json.loads(out.getvalue())["applications"]
    return {app["reference"]: {
        "visits": [(v["stage"], _day(dt.datetime.fromisoformat(v["entered_at"])),
                    _day(dt.datetime.fromisoformat(v["left_at"])) if v["left_at"] else None,
                    v["due_date"], v["overdue"], v["tacit_decision"], v["tacit_effect_date"],
                    v["extended"], v["urgent"], v["paused_days"], v["projected"]) for v in app["visits"]],
        "deadline": app["deadline"], "elapsed_days": round(app["elapsed_days"], 1), "status": app["status"],
    } for app in apps}


def _from_portal(client: Client, reference: str) -> dict:
    response = client.get(reverse("portal:detail", args=[reference]))
    assert response.status_code == 200
    figures = response.context["figures"]
    return {
        "visits": [(v.stage, _day(v.start), _day(v.end), _day(v.due_date), v.overdue,
                    # the portal names the tacit decision; the code is the label's key
                    {"avis favorable": "favourable_opinion", "autorisation": "authorisation"}.get(v.tacit_label),
                    _day(v.tacit_effect_date), v.extended, v.urgent, v.paused_days, v.projected)
                   for v in response.context["visits"]],
        "deadline": _day(figures.deadline), "elapsed_days": round(figures.elapsed_days, 1), "status": figures.status,
    }


def _from_backoffice(client: Client, reference: str) -> dict:
    response = client.get(reverse("backoffice:detail", args=[reference]))
    assert response.status_code == 200
    target = response.context["target"]
    return {
        "visits": [(v["code"], _day(v["start"]), _day(v["end"]), _day(v["due_date"]), v["overdue"],
                    v["tacit_decision"], _day(v["tacit_effect_date"]), v["extended"], v["urgent"], v["paused_days"],
                    v["projected"]) for v in response.context["timeline"]],
        "deadline": _day(target["deadline"]), "elapsed_days": round(target["elapsed"], 1), "status": target["status"],
    }


@pytest.mark.django_db
def test_portal_back_office_and_report_agree_on_every_clock(stories, personas):
    applicant, reviewer = Client(), Client()
    applicant.force_login(personas["applicant"])
    reviewer.force_login(personas["secretariat"])
    with time_machine.travel(AS_OF, tick=False):
        report = _from_report()
        pages = {ref: (_from_portal(applicant, ref), _from_backoffice(reviewer, ref)) for ref in stories.values()}

    for name, ref in stories.items():
        portal, backoffice = pages[ref]
        assert portal == backoffice == report[ref], name

    # And the figures are the ones the law gives (so the three do not agree on a wrong value).
    late = report[stories["cnil_late"]]
    assert late["visits"][1][3:] == ("2025-02-10", True, "favourable_opinion", "2025-02-11",
                                     False, False, 0, False)  # CESREES, 1 month
    assert late["visits"][2][3:] == ("2025-05-20", True, "authorisation", "2025-05-21",
                                     False, False, 0, False)  # CNIL, 2 months
    # 7 working days from Monday 2 June 2025, Whit Monday (9 June) a public holiday.
    assert report[stories["completeness_late"]]["visits"][0][3:5] == ("2025-06-12", True)
    paused = report[stories["paused"]]["visits"]
    assert [v[0] for v in paused] == [State.SUBMITTED, State.CESREES_REVIEW, State.AWAITING_APPLICANT]
    assert paused[-1][2:5] == (None, None, False)  # the applicant's time has no legal clock
    contracting = report[stories["contracting"]]["visits"]
    assert [v[4] for v in contracting] == [False, False, False, False]  # every period kept
    assert report[stories["contracting"]]["status"] in ("on_track", "at_risk")
    # Urgent: 15 days from 5 March (20 March) + 1 month = Sunday 20 April, Easter Monday the 21st,
    # so Tuesday 22 April; the opinion on 1 April kept it: no tacit date.
    urgent = report[stories["urgent_extended"]]["visits"]
    assert urgent[1][3:] == ("2025-04-22", False, None, None, True, True, 0, False)
    # The CNIL from 1 April: 1 June (a Sunday) -> 2 June, still open on 30 June.
    assert urgent[2][3:] == ("2025-06-02", True, "authorisation", "2025-06-03", False, False, 0, False)
    # CNIL from 15 April: 15 June unrolled + 7 paused days = Sunday 22 June -> Monday 23 June.
    resumed = report[stories["cnil_resumed"]]["visits"]
    assert [v[0] for v in resumed] == [State.SUBMITTED, State.CESREES_REVIEW, State.CNIL_REVIEW,
                                       State.AWAITING_APPLICANT, State.CNIL_REVIEW]
    assert resumed[2][9] == 7  # the interrupted CNIL visit carries the pause's days
    assert resumed[4][3:5] == ("2025-06-23", True)


@pytest.mark.django_db
def test_the_pages_show_the_due_dates_the_report_gives(stories, personas):
    """Not only the context: the rendered pages print the report's dates."""
    applicant, reviewer = Client(), Client()
    applicant.force_login(personas["applicant"])
    reviewer.force_login(personas["secretariat"])
    ref = stories["cnil_late"]
    with time_machine.travel(AS_OF, tick=False):
        portal_html = applicant.get(reverse("portal:detail", args=[ref])).content.decode()
        backoffice_html = reviewer.get(reverse("backoffice:detail", args=[ref])).content.decode()
    assert "20/05/2025" in portal_html  # SHORT_DATE_FORMAT in French
    assert "Échéance légale : 20 mai 2025" in backoffice_html
    assert "Décision implicite le 21 mai 2025 en cas de silence" in backoffice_html
