"""The history import (issue #2): validation with line numbers, bulk writes, idempotency."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import statistics
from collections import defaultdict
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access_requests import history_import, services
from access_requests.history_import import HistoryImportError, import_history, read_history
from access_requests.models import AccessRequest, Event, ReferenceSequence
from access_requests.workflow import Role, Route, State
from catalog.models import Dataset
from delays.models import RequestDelay
from demo.history import COLUMNS, generate

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "history_small.csv"
HEADER = "reference,at,state,datasets,requires_matching,title"
UTC = dt.UTC
AS_OF = dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def write(tmp_path: Path, text: str, name: str = "history.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(UTC)


def counts() -> tuple[int, int]:
    return AccessRequest.objects.count(), Event.objects.count()


def history_of(reference: str) -> list[tuple[str, str, dt.datetime]]:
    return [(e.from_state, e.to_state, e.at) for e in Event.objects.filter(request__reference=reference)
            .order_by("at", "id")]


def refused(path: Path) -> list[history_import.ImportIssue]:
    """Import ``path``, expecting a refusal that writes nothing; return the issues."""
    before = counts()
    with pytest.raises(HistoryImportError) as excinfo:
        import_history(path)
    assert counts() == before, "a refused import writes nothing"
    return excinfo.value.issues


def generated_csv(path: Path, n: int, *, seed: int = 7, prefix: str = "") -> int:
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in generate(n, seed=seed, as_of=AS_OF):
            row["reference"] = prefix + row["reference"]
            writer.writerow(row)
            rows += 1
    return rows


# --- a valid import ------------------------------------------------------------------------
def test_sample_fixture_imports_cleanly():
    out, err = io.StringIO(), io.StringIO()
    call_command("import_history", str(FIXTURE), stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert "10 demandes créées" in out.getvalue()
    assert AccessRequest.objects.count() == 10
    assert Event.objects.count() == 46


def test_import_keeps_states_instants_order_and_attributes():
    result = import_history(FIXTURE)
    assert (result.created, result.extended, result.unchanged, result.events_written) == (10, 0, 0, 46)

    first = AccessRequest.objects.get(reference="HDH-2021-0001")
    assert first.state == State.CLOSED
    assert first.title == "Parcours de soins après un AVC, cohorte 2015-2020"
    assert sorted(first.datasets.values_list("code", flat=True)) == ["oscour", "snds"]
    assert first.requires_matching is True and first.brings_own_data is False  # derived: two datasets
    assert first.route == Route.STANDARD
    assert first.organisation is None and first.applicant is None
    assert first.paused_from == ""
    # Instants are kept, in UTC: 10:30+01:00 is 09:30Z; order follows the instants, not the file.
    assert history_of("HDH-2021-0001") == [
        ("", "draft", at("2021-01-11T09:00:00Z")),
        ("draft", "submitted", at("2021-02-01T09:30:00Z")),
        ("submitted", "cesrees_review", at("2021-02-12T14:00:00Z")),
        ("cesrees_review", "awaiting_applicant", at("2021-03-01T09:00:00Z")),
        ("awaiting_applicant", "cesrees_review", at("2021-03-16T09:00:00Z")),
        ("cesrees_review", "cnil_review", at("2021-04-02T07:00:00Z")),
        ("cnil_review", "contracting", at("2021-06-10T09:00:00Z")),
        ("contracting", "matching", at("2021-09-01T09:00:00Z")),
        ("matching", "extraction", at("2022-03-15T09:00:00Z")),
        ("extraction", "delivered", at("2022-07-01T09:00:00Z")),
        ("delivered", "closed", at("2023-07-01T09:00:00Z")),
    ]
    assert first.created_at == at("2021-01-11T09:00:00Z")
    events = list(first.events.order_by("at", "id"))
    assert [e.action for e in events] == [
        "import", "submit", "forward_to_cesrees", "request_information", "resume", "record_cesrees_opinion",
        "authorise", "start_matching", "start_extraction", "deliver", "close",
    ]
    assert all(e.actor_id is None and e.role == Role.SYSTEM for e in events)
    assert events[0].payload == {"source": "import", "line": 2}
    assert events[1].payload == {"source": "import", "line": 3}

    simplified = AccessRequest.objects.get(reference="HDH-2021-0002")
    assert simplified.route == Route.SIMPLIFIED  # submitted → contracting with esnd only
    assert simplified.requires_matching is False
    methodology = AccessRequest.objects.get(reference="HDH-2022-0003")
    assert methodology.route == Route.REFERENCE_METHODOLOGY  # submitted → contracting, snds
    assert methodology.requires_matching is False  # explicit false
    assert methodology.created_at == at("2022-02-07T10:00:00Z")
    own_data = AccessRequest.objects.get(reference="HDH-2023-0006")
    assert own_data.requires_matching is True and own_data.brings_own_data is True  # explicit true, one dataset
    assert own_data.state == State.MATCHING
    paused = AccessRequest.objects.get(reference="HDH-2024-0008")
    assert (paused.state, paused.paused_from) == (State.AWAITING_APPLICANT, State.SUBMITTED)
    assert AccessRequest.objects.get(reference="HDH-2024-0007").state == State.DRAFT
    legacy = AccessRequest.objects.get(reference="LEGACY-17")
    assert legacy.requires_matching is False and legacy.route == Route.STANDARD


def test_state_after_import_is_the_last_event_target():
    import_history(FIXTURE)
    for request in AccessRequest.objects.all():
        assert request.state == request.events.order_by("at", "id").last().to_state


def test_rows_may_come_in_any_order_across_references(tmp_path):
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    shuffled = lines[1:]
    random.Random(3).shuffle(shuffled)
    # Titles and datasets stay on each reference's earliest row wherever that row is in the file.
    import_history(write(tmp_path, "\n".join([lines[0], *shuffled]) + "\n"))
    in_any_order = {r.reference: (r.state, history_of(r.reference)) for r in AccessRequest.objects.all()}
    assert len(in_any_order) == 10
    assert in_any_order["HDH-2021-0001"][0] == State.CLOSED
    assert [to for _from, to, _at in in_any_order["HDH-2021-0001"][1]][:3] == ["draft", "submitted",
                                                                                "cesrees_review"]


def test_explicit_route_column_overrides_the_inference(tmp_path):
    path = write(tmp_path, csv_text(
        "X-1,2024-01-02T09:00:00Z,submitted,esnd,,Échantillon,reference_methodology",
        "X-1,2024-01-09T09:00:00Z,contracting,,,,",
        "X-2,2024-01-02T09:00:00Z,submitted,snds,,Standard,standard",
        "X-2,2024-01-09T09:00:00Z,cesrees_review,,,,standard",
        header=HEADER + ",route",
    ))
    import_history(path)
    assert AccessRequest.objects.get(reference="X-1").route == Route.REFERENCE_METHODOLOGY
    assert AccessRequest.objects.get(reference="X-2").route == Route.STANDARD


def test_explicit_standard_route_cannot_skip_the_committees(tmp_path):
    path = write(tmp_path, csv_text(
        "X-1,2024-01-02T09:00:00Z,submitted,esnd,,Échantillon,standard",
        "X-1,2024-01-09T09:00:00Z,contracting,,,,",
        header=HEADER + ",route",
    ))
    [issue] = refused(path)
    assert (issue.line, issue.reference) == (3, "X-1")
    assert "submitted" in issue.message and "contracting" in issue.message


def test_bom_crlf_and_repeated_identical_attributes_are_accepted(tmp_path):
    text = csv_text(
        "X-1,2024-01-02T09:00:00+01:00,draft,snds;oscour,,Titre",
        "X-1,2024-01-09T09:00:00+01:00,submitted,snds;oscour,true,Titre",
    ).replace("\n", "\r\n")
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = import_history(path)
    assert result.created == 1
    assert AccessRequest.objects.get(reference="X-1").state == State.SUBMITTED


def test_the_import_materialises_the_delays_of_what_it_wrote_and_only_that(tmp_path):
    text = csv_text(
        "D-1,2024-01-02T09:00:00Z,submitted,snds;oscour,true,Livrée",
        "D-1,2024-01-12T09:00:00Z,cesrees_review,,,",
        "D-1,2024-02-11T09:00:00Z,cnil_review,,,",
        "D-1,2024-04-11T09:00:00Z,contracting,,,",
        "D-1,2024-05-11T09:00:00Z,matching,,,",
        "D-1,2024-06-10T09:00:00Z,extraction,,,",
        "D-1,2024-07-10T09:00:00Z,delivered,,,",
        "O-1,2024-03-04T09:00:00Z,submitted,snds;oscour,true,Ouverte",
        "O-1,2024-03-08T09:00:00Z,cesrees_review,,,",
    )
    path = write(tmp_path, text)
    import_history(path)

    delivered = RequestDelay.objects.get(request__reference="D-1")
    assert delivered.status == "met" and delivered.target_met is True
    assert (delivered.days_submitted, delivered.days_cesrees_review, delivered.days_cnil_review) == (10, 30, 60)
    assert (delivered.days_contracting, delivered.days_matching, delivered.days_extraction) == (30, 30, 30)
    assert [v["stage"] for v in delivered.visits] == [
        "submitted", "cesrees_review", "cnil_review", "contracting", "matching", "extraction"]
    assert delivered.visits[1]["due_date"] == "2024-02-12"  # 12 Feb: a month after 12 Jan, a Monday
    still_open = RequestDelay.objects.get(request__reference="O-1")
    assert still_open.ended_at is None and still_open.current_stage == "cesrees_review"
    assert still_open.current_due_date == dt.date(2024, 4, 8)
    computed = dict(RequestDelay.objects.values_list("request__reference", "computed_at"))

    import_history(path)  # nothing written: nothing recomputed
    assert dict(RequestDelay.objects.values_list("request__reference", "computed_at")) == computed


# --- errors, each with its line and reference ----------------------------------------------
VALID = "OK-1,2024-01-02T09:00:00Z,submitted,snds,,Valide"

ERRORS = {
    "unknown state": (["X-1,2024-01-02T09:00:00Z,submitted,snds,,T", "X-1,2024-02-02T09:00:00Z,reviewing,,,"],
                      3, "X-1", "reviewing"),
    "naive time": (["X-1,2024-01-02T09:00:00,submitted,snds,,T"], 2, "X-1", "fuseau"),
    "unparsable time": (["X-1,2024-13-45 soon,submitted,snds,,T"], 2, "X-1", "illisible"),
    "missing time": (["X-1,,submitted,snds,,T"], 2, "X-1", "instant"),
    "unknown dataset": (["X-1,2024-01-02T09:00:00Z,submitted,snds;nope,,T"], 2, "X-1", "nope"),
    "bad requires_matching": (["X-1,2024-01-02T09:00:00Z,submitted,snds,oui,T"], 2, "X-1", "requires_matching"),
    "missing title": (["X-1,2024-01-02T09:00:00Z,submitted,snds,,", "X-1,2024-01-12T09:00:00Z,withdrawn,,,"],
                      2, "X-1", "titre"),
    "missing datasets": (["X-1,2024-01-02T09:00:00Z,draft,,,T", "X-1,2024-01-12T09:00:00Z,submitted,snds,,T"],
                         2, "X-1", "manquantes"),
    "different title later": (["X-1,2024-01-02T09:00:00Z,draft,snds,,T",
                               "X-1,2024-01-12T09:00:00Z,submitted,,,Autre titre"], 3, "X-1", "titre"),
    "different datasets later": (["X-1,2024-01-02T09:00:00Z,draft,snds,,T",
                                  "X-1,2024-01-12T09:00:00Z,submitted,oscour,,"], 3, "X-1", "différentes"),
    "illegal transition": (["X-1,2024-01-02T09:00:00Z,draft,snds,,T", "X-1,2024-01-12T09:00:00Z,cnil_review,,,"],
                           3, "X-1", "« draft » à « cnil_review »"),
    "resume to another stage": (["X-1,2024-01-02T09:00:00Z,submitted,snds,,T",
                                 "X-1,2024-01-05T09:00:00Z,awaiting_applicant,,,",
                                 "X-1,2024-01-09T09:00:00Z,cesrees_review,,,"], 4, "X-1", "suspendue"),
    "matching not needed": (["X-1,2024-01-02T09:00:00Z,submitted,snds,,T",
                             "X-1,2024-01-05T09:00:00Z,cesrees_review,,,",
                             "X-1,2024-02-05T09:00:00Z,cnil_review,,,",
                             "X-1,2024-03-05T09:00:00Z,contracting,,,",
                             "X-1,2024-04-05T09:00:00Z,matching,,,"], 6, "X-1", "appariement"),
    "first state": (["X-1,2024-01-02T09:00:00Z,cesrees_review,snds,,T"], 2, "X-1", "premier état"),
    "empty reference": ([",2024-01-02T09:00:00Z,submitted,snds,,T"], 2, "", "référence vide"),
    "reference too long": ([f"{'R' * 33},2024-01-02T09:00:00Z,submitted,snds,,T"], 2, "R" * 33, "32"),
    "duplicate row": (["X-1,2024-01-02T09:00:00Z,submitted,snds,,T", "X-1,2024-01-02T09:00:00Z,submitted,,,"],
                      3, "X-1", "double"),
    "wrong column count": (["X-1,2024-01-02T09:00:00Z,submitted,snds,T"], 2, "X-1", "colonnes"),
    "title too long": ([f"X-1,2024-01-02T09:00:00Z,submitted,snds,,{'t' * 301}"], 2, "X-1", "300"),
}


@pytest.mark.parametrize("case", ERRORS.values(), ids=ERRORS.keys())
def test_each_error_is_reported_with_its_line_and_reference_and_nothing_is_imported(tmp_path, case):
    rows, line, reference, keyword = case
    issues = refused(write(tmp_path, csv_text(VALID, *rows)))
    matching = [i for i in issues if i.line == line + 1 and i.reference == reference]  # VALID is line 2
    assert matching, [str(i) for i in issues]
    assert keyword in matching[0].message
    assert not AccessRequest.objects.filter(reference="OK-1").exists()


def test_bad_route_value_is_an_error(tmp_path):
    [issue] = refused(write(tmp_path, csv_text("X-1,2024-01-02T09:00:00Z,submitted,snds,,T,express",
                                               header=HEADER + ",route")))
    assert (issue.line, issue.reference) == (2, "X-1") and "express" in issue.message


@pytest.mark.parametrize(("header", "keyword"), [
    ("reference,at,state,datasets,title", "requires_matching"),
    (HEADER + ",owner", "owner"),
    (HEADER + ",title", "double"),
])
def test_header_errors_are_reported_on_line_1(tmp_path, header, keyword):
    [issue] = refused(write(tmp_path, csv_text(VALID, header=header)))
    assert issue.line == 1 and keyword in issue.message


def test_non_utf8_file_names_the_first_bad_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(csv_text(VALID, "X-1,2024-01-02T09:00:00Z,submitted,snds,,Études").encode("latin-1"))
    [issue] = refused(path)
    assert issue.line == 3 and "UTF-8" in issue.message


def test_missing_empty_and_header_only_files_are_clear_errors(tmp_path):
    [missing] = refused(tmp_path / "nowhere.csv")
    assert "introuvable" in str(missing)
    [empty] = refused(write(tmp_path, "", "empty.csv"))
    assert "vide" in str(empty)
    [header_only] = refused(write(tmp_path, HEADER + "\n", "header.csv"))
    assert header_only.line == 1 and "aucune ligne" in header_only.message


def test_several_errors_are_all_reported_in_one_run(tmp_path):
    path = write(tmp_path, csv_text(
        VALID,
        "X-1,2024-01-02T09:00:00,submitted,snds,,T",  # 3: naive time
        "X-2,2024-01-02T09:00:00Z,submitted,foo,,T",  # 4: unknown dataset
        "X-3,2024-01-02T09:00:00Z,draft,snds,,T",
        "X-3,2024-01-03T09:00:00Z,delivered,,,",  # 6: illegal transition
        ",2024-01-02T09:00:00Z,submitted,snds,,T",  # 7: empty reference
    ))
    issues = refused(path)
    assert [(i.line, i.reference) for i in issues] == [(3, "X-1"), (4, "X-2"), (6, "X-3"), (7, "")]


def test_command_prints_every_error_and_exits_non_zero(tmp_path):
    path = write(tmp_path, csv_text(
        "X-1,2024-01-02T09:00:00,submitted,snds,,T",
        "X-2,2024-01-02T09:00:00Z,unknown,snds,,T",
    ))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_history", str(path), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 2
    assert "2" in lines[0] and "X-1" in lines[0] and lines[0].index("2") < lines[0].index("X-1")
    assert "3" in lines[1] and "X-2" in lines[1]
    assert counts() == (0, 0)


def test_command_reports_a_missing_file(tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_history", str(tmp_path / "absent.csv"), stdout=io.StringIO(), stderr=err)
    assert "absent.csv" in err.getvalue()


# --- the database: idempotency, extension, conflicts ---------------------------------------
def test_importing_the_same_file_twice_changes_nothing():
    import_history(FIXTURE)
    before = counts()
    event_ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    states = dict(AccessRequest.objects.values_list("reference", "state"))
    out = io.StringIO()
    call_command("import_history", str(FIXTURE), stdout=out, stderr=io.StringIO())
    assert "0 demandes créées" in out.getvalue() and "10 inchangées" in out.getvalue()
    result = import_history(FIXTURE)
    assert (result.created, result.extended, result.unchanged, result.events_written) == (0, 0, 10, 0)
    assert counts() == before
    assert list(Event.objects.order_by("id").values_list("id", flat=True)) == event_ids
    assert dict(AccessRequest.objects.values_list("reference", "state")) == states


FULL = [
    "X-1,2024-01-02T09:00:00Z,draft,snds;oscour,,Titre",
    "X-1,2024-01-09T09:00:00Z,submitted,,,",
    "X-1,2024-01-19T09:00:00Z,cesrees_review,,,",
    "X-1,2024-02-19T09:00:00Z,awaiting_applicant,,,",
]


def test_a_longer_history_extends_the_existing_request(tmp_path):
    import_history(write(tmp_path, csv_text(*FULL[:2]), "start.csv"))
    request = AccessRequest.objects.get(reference="X-1")
    first_ids = list(request.events.order_by("id").values_list("id", flat=True))
    assert request.state == State.SUBMITTED

    result = import_history(write(tmp_path, csv_text(*FULL), "full.csv"))
    assert (result.created, result.extended, result.unchanged, result.events_written) == (0, 1, 0, 2)
    request = AccessRequest.objects.get(reference="X-1")
    assert (request.state, request.paused_from) == (State.AWAITING_APPLICANT, State.CESREES_REVIEW)
    events = list(request.events.order_by("at", "id"))
    assert [e.id for e in events[:2]] == first_ids
    assert [(e.from_state, e.to_state, e.action) for e in events[2:]] == [
        ("submitted", "cesrees_review", "forward_to_cesrees"),
        ("cesrees_review", "awaiting_applicant", "request_information"),
    ]
    assert events[3].payload == {"source": "import", "line": 5}
    # And once more: unchanged.
    assert import_history(write(tmp_path, csv_text(*FULL), "again.csv")).unchanged == 1


def test_a_conflicting_history_is_an_error_and_changes_nothing(tmp_path):
    import_history(write(tmp_path, csv_text(*FULL), "full.csv"))
    before = counts()
    changed = [*FULL[:2], "X-1,2024-01-20T09:00:00Z,cesrees_review,,,"]  # another instant
    [issue] = refused(write(tmp_path, csv_text(*changed, VALID), "changed.csv"))
    assert (issue.line, issue.reference) == (2, "X-1")
    assert "différent" in issue.message and "base" in issue.message
    assert counts() == before
    # A shorter history than the database's is a difference too.
    [shorter] = refused(write(tmp_path, csv_text(*FULL[:2]), "shorter.csv"))
    assert shorter.reference == "X-1" and "différent" in shorter.message


def test_a_request_created_in_the_app_is_not_overwritten(tmp_path, applicant):
    with time_machine.travel(dt.datetime(2025, 3, 1, 10, tzinfo=UTC), tick=False):
        request = services.create_draft(actor=applicant, title="Déjà là")
    [issue] = refused(write(tmp_path, csv_text(f"{request.reference},2024-01-02T09:00:00Z,submitted,snds,,T")))
    assert issue.reference == request.reference and "différent" in issue.message


def test_imported_references_bump_the_sequence_so_new_drafts_never_collide(tmp_path, applicant):
    ReferenceSequence.objects.create(year=2024, last=900)
    import_history(write(tmp_path, csv_text(
        "HDH-2025-0042,2025-02-03T09:00:00Z,submitted,snds,,T",
        "HDH-2025-0007,2025-01-03T09:00:00Z,submitted,snds,,T",
        "HDH-2024-0100,2024-01-03T09:00:00Z,submitted,snds,,T",
    )))
    assert ReferenceSequence.objects.get(year=2025).last == 42
    assert ReferenceSequence.objects.get(year=2024).last == 900  # never lowered
    with time_machine.travel(dt.datetime(2025, 6, 1, 10, tzinfo=UTC), tick=False):
        draft = services.create_draft(actor=applicant, title="Nouvelle demande")
    assert draft.reference == "HDH-2025-0043"
    assert AccessRequest.objects.filter(reference__startswith="HDH-2025-").count() == 3


def test_queries_are_bounded_by_batches_not_rows(tmp_path):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small_rows = generated_csv(small, 200, seed=1, prefix="S")
    large_rows = generated_csv(large, 2000, seed=2, prefix="L")
    assert large_rows > 9 * small_rows
    with CaptureQueriesContext(connection) as q_small:
        import_history(small)
    with CaptureQueriesContext(connection) as q_large:
        result = import_history(large)
    assert result.created == 2000 and result.events_written == large_rows
    if connection.vendor == "postgresql":
        # One batch of 5,000 rows per insert: a few more batches, never a query per row.
        assert len(q_large) <= len(q_small) + 12, (len(q_small), len(q_large))
    else:
        # SQLite caps a statement at 999 parameters, so Django splits each bulk insert in
        # statements of about 100 rows: still far from a query per row.
        assert len(q_large) * 50 <= large_rows, (len(q_small), len(q_large), large_rows)


# --- the generator -------------------------------------------------------------------------
def test_generated_histories_pass_validation_and_import(tmp_path):
    path = tmp_path / "generated.csv"
    rows = generated_csv(path, 300, seed=11)
    histories = read_history(path, dataset_codes=Dataset.objects.values_list("code", flat=True))
    assert len(histories) == 300
    result = import_history(path)
    assert (result.created, result.events_written) == (300, rows)
    routes = set(AccessRequest.objects.values_list("route", flat=True))
    assert routes == {Route.STANDARD, Route.REFERENCE_METHODOLOGY, Route.SIMPLIFIED}


def test_generator_is_deterministic_and_realistic():
    assert list(generate(50, seed=5, as_of=AS_OF)) == list(generate(50, seed=5, as_of=AS_OF))
    by_reference: dict[str, list[dict]] = defaultdict(list)
    for row in generate(4000, seed=5, as_of=AS_OF):
        by_reference[row["reference"]].append(row)
    assert len(by_reference) == 4000
    rows_per_request = sum(map(len, by_reference.values())) / 4000
    assert 8.5 <= rows_per_request <= 11.5
    multi = sum(";" in rows[0]["datasets"] for rows in by_reference.values()) / 4000
    assert 0.72 <= multi <= 0.88
    months: dict[int, list[float]] = defaultdict(list)
    last_states = defaultdict(int)
    for rows in by_reference.values():
        last_states[rows[-1]["state"]] += 1
        instants = {row["state"]: at(row["at"]) for row in reversed(rows)}  # first entry of each state
        if "submitted" in instants and "delivered" in instants:
            months[instants["submitted"].year].append(
                (instants["delivered"] - instants["submitted"]).days / 30.4375)
        assert all(row["at"].endswith("Z") for row in rows)
        assert at(rows[-1]["at"]) <= AS_OF
    assert 15 <= statistics.mean(months[2019]) <= 21  # about 18 months for the early cohorts
    assert statistics.mean(months[2023]) < statistics.mean(months[2019]) - 3
    for state in (State.REJECTED, State.WITHDRAWN, State.DRAFT, State.CLOSED, State.MATCHING):
        assert last_states[state] > 0, state
    assert 0.03 <= last_states[State.REJECTED] / 4000 <= 0.07


def test_command_help_documents_the_route_inference():
    from access_requests.management.commands.import_history import Command

    text = Command().create_parser("manage.py", "import_history").format_help()
    assert "esnd" in text and "reference_methodology" in text and "simplified" in text
    assert history_import.__doc__ and "inferred" in history_import.__doc__


def test_an_instant_out_of_the_calendar_is_reported_with_its_line(tmp_path):
    path = tmp_path / "far.csv"
    path.write_text(
        "reference,at,state,datasets,requires_matching,title\n"
        "HDH-2025-0001,9999-12-31T23:00:00-05:00,submitted,snds;oscour,,Titre\n",
        encoding="utf-8",
    )
    with pytest.raises(HistoryImportError) as caught:
        import_history(path)
    issue = caught.value.issues[0]
    assert issue.line == 2 and issue.reference == "HDH-2025-0001" and "1900" in issue.message
