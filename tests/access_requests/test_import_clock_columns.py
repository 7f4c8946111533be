"""The import's clock columns (issue #12): extensions and renewals, reasons, opinions, urgency;
refusals with the line number and nothing written; the delays up to date after it."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from access_requests.history_import import HistoryImportError, import_history
from access_requests.models import AccessRequest, Event
from access_requests.workflow import EventAction
from delays.clock import request_clock
from delays.models import RequestDelay

HEADER = "reference,at,state,datasets,requires_matching,title,reason,opinion,urgent"
UTC = dt.UTC

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "history.csv"
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def refused(path: Path) -> list[str]:
    with pytest.raises(HistoryImportError) as caught:
        import_history(path)
    assert AccessRequest.objects.count() == 0 and Event.objects.count() == 0  # nothing written
    return [str(issue) for issue in caught.value.issues]


START = (
    "R-1,2024-01-02T09:00:00Z,submitted,snds;oscour,true,Rejouée,,,",
    "R-1,2024-01-12T09:00:00Z,cesrees_review,,,,,,",
)


def test_an_extension_row_is_written_as_the_back_office_writes_it_and_moves_the_due_date(tmp_path):
    import_history(write(tmp_path, *START, "R-1,2024-01-20T09:00:00Z,cesrees_review,,,,,,"))

    request = AccessRequest.objects.get(reference="R-1")
    extension = Event.objects.get(request=request, action=EventAction.EXTEND_REVIEW)
    assert (extension.from_state, extension.to_state) == ("cesrees_review", "cesrees_review")
    assert request.cesrees_extended is True and request.state == "cesrees_review"
    delay = RequestDelay.objects.get(request=request)  # up to date without another command
    assert delay.current_due_date == dt.date(2024, 3, 12)  # 12 January + 2 months, a Tuesday
    assert [v["stage"] for v in delay.visits] == ["submitted", "cesrees_review"]


def test_importing_the_same_file_twice_with_an_extension_changes_nothing(tmp_path):
    path = write(tmp_path, *START, "R-1,2024-01-20T09:00:00Z,cesrees_review,,,,,,")
    import_history(path)
    events = Event.objects.count()

    result = import_history(path)
    assert result.unchanged == 1 and Event.objects.count() == events


def test_a_cnil_renewal_row_adds_two_months(tmp_path):
    import_history(write(
        tmp_path, *START, "R-1,2024-02-05T09:00:00Z,cnil_review,,,,,favourable,",
        "R-1,2024-03-01T09:00:00Z,cnil_review,,,,,,",
    ))
    request = AccessRequest.objects.get(reference="R-1")
    assert request.cnil_extended is True and request.cesrees_opinion == "favourable"
    assert RequestDelay.objects.get(request=request).current_due_date == dt.date(2024, 6, 5)  # 5 Feb + 4 months


def test_a_second_extension_in_one_visit_is_refused_with_its_line(tmp_path):
    issues = refused(write(tmp_path, *START, "R-1,2024-01-20T09:00:00Z,cesrees_review,,,,,,",
                           "R-1,2024-01-25T09:00:00Z,cesrees_review,,,,,,"))
    assert len(issues) == 1 and issues[0].startswith("ligne 5 : R-1 :") and "déjà été prolongé" in issues[0]


class _Rollback(Exception):
    pass


def issues_of(tmp_path: Path, *rows: str) -> list[str]:
    """Import ``rows`` in a transaction rolled back: the issues found (none: accepted)."""
    try:
        with transaction.atomic():
            import_history(write(tmp_path, *rows))
            raise _Rollback
    except _Rollback:
        return []
    except HistoryImportError as error:
        return [str(issue) for issue in error.issues]


def test_an_extension_is_accepted_up_to_the_end_of_the_due_date_and_refused_after(tmp_path):
    # The CESREES period of a visit entered on 12 January ends on Monday 12 February (Paris).
    assert issues_of(tmp_path, *START, "R-1,2024-02-12T22:30:00Z,cesrees_review,,,,,,") == []  # 23:30 in Paris
    issues = refused(write(tmp_path, *START, "R-1,2024-02-12T23:30:00Z,cesrees_review,,,,,,"))  # 13 Feb in Paris
    assert len(issues) == 1 and issues[0].startswith("ligne 4 : R-1 :") and "écoulé" in issues[0]


def test_an_extension_outside_a_review_stage_is_refused(tmp_path):
    issues = refused(write(tmp_path, "R-1,2024-01-02T09:00:00Z,submitted,snds,,T,,,",
                           "R-1,2024-01-05T09:00:00Z,submitted,,,,,,"))
    assert len(issues) == 1 and issues[0].startswith("ligne 3 : R-1 :")


def test_rows_dated_after_now_are_refused(tmp_path):
    future = (dt.datetime.now(UTC) + dt.timedelta(days=3)).isoformat()
    issues = refused(write(tmp_path, "R-1,2024-01-02T09:00:00Z,submitted,snds,,T,,,", f"R-1,{future},cesrees_review,,,,,,"))
    assert len(issues) == 1 and issues[0].startswith("ligne 3 : R-1 :") and "futur" in issues[0]


@pytest.mark.parametrize(("row", "needle"), [
    ("R-1,2024-01-20T09:00:00Z,awaiting_applicant,,,,missing,,", "motif « missing » inconnu"),
    ("R-1,2024-02-20T09:00:00Z,cnil_review,,,,,excellent,", "avis « excellent » inconnu"),
    ("R-1,2024-02-20T09:00:00Z,cnil_review,,,,incomplete,,", "awaiting_applicant"),
    ("R-1,2024-02-20T09:00:00Z,cnil_review,,,,,,yes", "urgent « yes » invalide"),
])
def test_unknown_or_misplaced_reasons_opinions_and_urgency_are_refused(tmp_path, row, needle):
    issues = refused(write(tmp_path, *START, row))
    assert len(issues) == 1 and issues[0].startswith("ligne 4 : R-1 :") and needle in issues[0]


def test_an_opinion_on_a_row_that_does_not_leave_the_cesrees_is_refused(tmp_path):
    issues = refused(write(tmp_path, "R-1,2024-01-02T09:00:00Z,submitted,snds,,T,,,",
                           "R-1,2024-01-12T09:00:00Z,cesrees_review,,,,,favourable,"))
    assert len(issues) == 1 and "ne quitte pas cesrees_review" in issues[0]


def test_reason_opinion_and_urgency_reach_the_events_and_the_clocks(tmp_path, settings):
    settings.HDH_CLOCK_RESUME_POLICY = {**settings.HDH_CLOCK_RESUME_POLICY, "cnil_review": "continue"}
    import_history(write(
        tmp_path,
        "R-1,2024-01-02T09:00:00Z,submitted,snds;oscour,true,Rejouée,,,",
        "R-1,2024-01-12T09:00:00Z,cesrees_review,,,,,,true",
        "R-1,2024-01-22T09:00:00Z,cnil_review,,,,,favourable_with_recommendations,",
        "R-1,2024-02-01T09:00:00Z,awaiting_applicant,,,,incorrect,,",
        "R-1,2024-02-11T09:00:00Z,cnil_review,,,,,,",
    ))
    request = AccessRequest.objects.get(reference="R-1")
    payloads = list(Event.objects.filter(request=request).order_by("at").values_list("payload", flat=True))
    assert payloads[1]["urgent"] is True
    assert payloads[2]["opinion"] == "favourable_with_recommendations"
    assert payloads[3]["reason"] == "incorrect"
    clock = request_clock(request, dt.datetime(2024, 2, 12, tzinfo=UTC))
    assert clock is not None
    cesrees, cnil, pause, resumed = clock.visits[1:]
    assert (cesrees.urgent, cesrees.due_date) == (True, dt.date(2024, 1, 29))  # 12 Jan + 15 days: a Saturday
    assert (cnil.reason, cnil.paused_days, pause.paused_days) == ("incorrect", 10, 10)
    # The CNIL continues: 22 March (2 months) + 10 days of pause = 1 April, Easter Monday 2024 -> 2 April.
    assert resumed.due_date == dt.date(2024, 4, 2)
    assert (resumed.tacit_decision, resumed.tacit_effect_date, resumed.projected) == (
        "authorisation", dt.date(2024, 4, 3), True)


def test_the_command_reports_the_refusal_with_its_line(tmp_path):
    path = write(tmp_path, *START, "R-1,2024-01-20T09:00:00Z,awaiting_applicant,,,,unknown,,")
    err = io.StringIO()
    with pytest.raises(CommandError, match="rien n'a été importé"):
        call_command("import_history", str(path), stderr=err)
    assert "ligne 4 : R-1 : motif « unknown » inconnu" in err.getvalue()
    assert AccessRequest.objects.count() == 0
