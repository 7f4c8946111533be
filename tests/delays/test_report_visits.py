"""delay_report --detail: the visits of each application, evaluated at --as-of (issue #12)."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from access_requests.history_import import import_history
from delays.report import VISIT_FIELDS

pytestmark = pytest.mark.django_db

HISTORY = """reference,at,state,datasets,requires_matching,title,reason,opinion,urgent
V-1,2024-01-02T09:00:00Z,submitted,snds;oscour,true,Visites,,,
V-1,2024-01-05T09:00:00Z,cesrees_review,,,,,,
V-1,2024-01-20T09:00:00Z,cnil_review,,,,,favourable,
"""


def report(tmp_path: Path, as_of: str, fmt: str = "json") -> str:
    path = tmp_path / "h.csv"
    path.write_text(HISTORY, encoding="utf-8")
    import_history(path)
    out = StringIO()
    call_command("delay_report", "--as-of", as_of, "--format", fmt, "--detail", stdout=out)
    return out.getvalue()


def test_visits_have_exactly_the_documented_fields_in_order_and_a_projected_tacit_date(tmp_path):
    app = json.loads(report(tmp_path, "2024-02-01"))["applications"][0]
    submitted, cesrees, cnil = app["visits"]
    assert all(tuple(v) == VISIT_FIELDS for v in app["visits"])
    # Completeness: 7 working days after Tuesday 2 January; left on the 5th, in time.
    assert (submitted["due_date"], submitted["overdue"], submitted["tacit_decision"]) == ("2024-01-11", False, None)
    # CESREES closed on day 15 of its month: no tacit opinion.
    assert (cesrees["due_date"], cesrees["overdue"], cesrees["tacit_decision"], cesrees["tacit_effect_date"],
            cesrees["projected"]) == ("2024-02-05", False, None, None, False)
    # CNIL open within its period after an expressly favourable opinion: a projected authorisation.
    assert cnil["left_at"] is None and cnil["entered_at"] == "2024-01-20T09:00:00+00:00"
    assert (cnil["due_date"], cnil["tacit_decision"], cnil["tacit_effect_date"], cnil["projected"]) == (
        "2024-03-20", "authorisation", "2024-03-21", True)
    assert (cnil["extended"], cnil["urgent"], cnil["paused_days"]) == (False, False, 0)


def test_past_the_due_date_the_tacit_decision_is_real_and_the_visit_overdue(tmp_path):
    cnil = json.loads(report(tmp_path, "2024-03-22"))["applications"][0]["visits"][-1]
    assert (cnil["overdue"], cnil["tacit_decision"], cnil["tacit_effect_date"], cnil["projected"]) == (
        True, "authorisation", "2024-03-21", False)


def test_csv_detail_gives_one_row_per_visit_with_the_same_values(tmp_path):
    rows = list(csv.DictReader(StringIO(report(tmp_path, "2024-02-01", "csv"))))
    assert [r["stage"] for r in rows] == ["submitted", "cesrees_review", "cnil_review"]
    assert list(rows[0]) == ["reference", *VISIT_FIELDS]
    assert (rows[2]["reference"], rows[2]["left_at"], rows[2]["tacit_decision"], rows[2]["projected"]) == (
        "V-1", "", "authorisation", "true")
