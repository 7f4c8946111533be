"""The history import's ``holder`` column (issue #15): one task per data holder after the decision."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from access_requests.history_import import HistoryImportError, import_history
from access_requests.models import AccessRequest, Event, HolderTask, HolderTaskEvent
from access_requests.workflow import State

pytestmark = pytest.mark.django_db

UTC = dt.UTC
HEADER = "reference,at,state,datasets,requires_matching,title,holder"
# SNDS (CNAM), OSCOUR (Santé publique France) and UroCCR (CHU de Bordeaux): three holders.
DECISION = [
    "HDH-2024-0101,2024-01-08T09:00:00Z,submitted,snds;oscour;uroccr,true,Trois détenteurs,",
    "HDH-2024-0101,2024-01-20T09:00:00Z,cesrees_review,,,,",
    "HDH-2024-0101,2024-03-01T09:00:00Z,cnil_review,,,,",
    "HDH-2024-0101,2024-04-15T09:00:00Z,contracting,,,,",
]
HOLDERS = [
    "HDH-2024-0101,2024-05-02T09:00:00Z,matching,,,,spf",
    "HDH-2024-0101,2024-05-20T09:00:00Z,matching,,,,cnam",
    "HDH-2024-0101,2024-06-10T09:00:00Z,matching,,,,chu-bordeaux",
    "HDH-2024-0101,2024-07-01T09:00:00Z,extraction,,,,spf",
    "HDH-2024-0101,2024-07-15T09:00:00Z,delivered,,,,spf",
    "HDH-2024-0101,2024-08-01T09:00:00Z,extraction,,,,chu-bordeaux",
    "HDH-2024-0101,2024-09-01T09:00:00Z,delivered,,,,chu-bordeaux",
    "HDH-2024-0101,2024-10-01T09:00:00Z,extraction,,,,cnam",
    "HDH-2024-0101,2025-02-03T09:00:00Z,delivered,,,,cnam",
]


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def write(tmp_path: Path, *rows: str, name: str = "history.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def tasks_of(reference: str) -> dict[str, HolderTask]:
    return {task.holder.code: task for task in HolderTask.objects.filter(request__reference=reference)
            .select_related("holder")}


def request_history(reference: str) -> list[tuple[str, str, dt.datetime]]:
    return [(e.from_state, e.to_state, e.at) for e in Event.objects.filter(request__reference=reference)]


def refusal(tmp_path: Path, *rows: str) -> str:
    with pytest.raises(HistoryImportError) as caught:
        import_history(write(tmp_path, *rows))
    return str(caught.value)


def test_each_holder_moves_its_own_task_and_the_request_follows_the_least_advanced(tmp_path):
    import_history(write(tmp_path, *DECISION, *HOLDERS))

    tasks = tasks_of("HDH-2024-0101")
    assert sorted(tasks) == ["chu-bordeaux", "cnam", "spf"]
    assert {code: task.state for code, task in tasks.items()} == dict.fromkeys(tasks, State.DELIVERED)
    assert all(task.created_at == at("2024-04-15T09:00:00Z") for task in tasks.values())
    assert tasks["spf"].delivered_at == at("2024-07-15T09:00:00Z")
    assert tasks["chu-bordeaux"].delivered_at == at("2024-09-01T09:00:00Z")
    assert tasks["cnam"].delivered_at == at("2025-02-03T09:00:00Z")
    assert tasks["cnam"].due_date is not None
    # The request entered matching with its last holder, extraction likewise, delivered with the CNAM.
    assert request_history("HDH-2024-0101")[-3:] == [
        ("contracting", "matching", at("2024-06-10T09:00:00Z")),
        ("matching", "extraction", at("2024-10-01T09:00:00Z")),
        ("extraction", "delivered", at("2025-02-03T09:00:00Z")),
    ]
    assert AccessRequest.objects.get(reference="HDH-2024-0101").state == State.DELIVERED
    cnam = [(e.from_state, e.to_state, e.at) for e in HolderTaskEvent.objects.filter(task=tasks["cnam"])
            .order_by("at", "id")]
    assert cnam == [("", "contracting", at("2024-04-15T09:00:00Z")),
                    ("contracting", "matching", at("2024-05-20T09:00:00Z")),
                    ("matching", "extraction", at("2024-10-01T09:00:00Z")),
                    ("extraction", "delivered", at("2025-02-03T09:00:00Z"))]


def test_a_request_waits_for_its_slowest_holder(tmp_path):
    import_history(write(tmp_path, *DECISION, *HOLDERS[:5]))  # the SPF delivered, the others not yet

    request = AccessRequest.objects.get(reference="HDH-2024-0101")
    assert request.state == State.MATCHING
    assert {code: task.state for code, task in tasks_of(request.reference).items()} == {
        "spf": State.DELIVERED, "cnam": State.MATCHING, "chu-bordeaux": State.MATCHING}


def test_rows_without_holder_move_every_task_as_before(tmp_path):
    import_history(write(tmp_path, *DECISION,
                         "HDH-2024-0101,2024-06-01T09:00:00Z,matching,,,,",
                         "HDH-2024-0101,2024-08-01T09:00:00Z,extraction,,,,cnam",
                         "HDH-2024-0101,2024-09-01T09:00:00Z,extraction,,,,",
                         "HDH-2024-0101,2024-12-01T09:00:00Z,delivered,,,,"))

    tasks = tasks_of("HDH-2024-0101")
    assert {task.state for task in tasks.values()} == {State.DELIVERED}
    assert tasks["cnam"].entered_at == at("2024-12-01T09:00:00Z")
    assert [e.to_state for e in HolderTaskEvent.objects.filter(task=tasks["spf"]).order_by("at", "id")] == [
        "contracting", "matching", "extraction", "delivered"]
    # The CNAM's extraction started on its own row, not again with the request's.
    assert [e.at for e in HolderTaskEvent.objects.filter(task=tasks["cnam"], to_state="extraction")] == [
        at("2024-08-01T09:00:00Z")]


def test_importing_the_same_file_twice_changes_nothing_and_a_longer_file_extends_the_tasks(tmp_path):
    import_history(write(tmp_path, *DECISION, *HOLDERS[:4], name="first.csv"))
    events = HolderTaskEvent.objects.count()

    again = import_history(write(tmp_path, *DECISION, *HOLDERS[:4], name="again.csv"))
    assert again.unchanged == 1 and HolderTaskEvent.objects.count() == events

    longer = import_history(write(tmp_path, *DECISION, *HOLDERS, name="longer.csv"))
    assert longer.extended == 1
    assert AccessRequest.objects.get(reference="HDH-2024-0101").state == State.DELIVERED
    assert HolderTaskEvent.objects.count() == events + len(HOLDERS) - 4
    assert tasks_of("HDH-2024-0101")["cnam"].state == State.DELIVERED


def test_a_file_that_rewrites_a_holders_past_is_refused(tmp_path):
    import_history(write(tmp_path, *DECISION, *HOLDERS[:2], name="first.csv"))
    moved = HOLDERS[1].replace("2024-05-20", "2024-05-21")
    message = refusal(tmp_path, *DECISION, HOLDERS[0], moved)
    assert "tâches des détenteurs différentes de celles de la base de données" in message


@pytest.mark.parametrize(("row", "expected"), [
    ("HDH-2024-0101,2024-05-02T09:00:00Z,matching,,,,curie",
     "le détenteur « curie » ne détient aucune des bases de la demande (détenteurs : chu-bordeaux, cnam, spf)"),
    ("HDH-2024-0101,2024-05-02T09:00:00Z,matching,,,,nobody", "détenteur (holder) « nobody » inconnu"),
    ("HDH-2024-0101,2024-05-02T09:00:00Z,contracting,,,,cnam",
     "détenteur (holder) sur une ligne qui n'entre pas dans matching, extraction, delivered"),
    ("HDH-2024-0101,2024-05-02T09:00:00Z,extraction,,,,cnam",
     "passage impossible de « contracting » à « extraction » pour la tâche du détenteur « cnam »"),
    ("HDH-2024-0101,2024-03-02T09:00:00Z,matching,,,,cnam",
     "ligne d'un détenteur (holder) alors que la demande n'est pas au conventionnement"),
])
def test_a_bad_holder_row_names_its_line_and_nothing_is_written(tmp_path, row, expected):
    message = refusal(tmp_path, *DECISION, row)
    assert f"ligne {len(DECISION) + 2} : HDH-2024-0101 : " in message
    assert expected in message
    assert not AccessRequest.objects.exists() and not HolderTask.objects.exists()


def test_the_history_fixture_opens_one_task_per_holder_for_requests_past_the_decision():
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "history_small.csv"
    import_history(fixture)

    past = AccessRequest.objects.filter(events__to_state=State.CONTRACTING).distinct()
    assert past.exists()
    for request in past.prefetch_related("datasets", "holder_tasks__holder"):
        holders = {dataset.holder.code for dataset in request.datasets.all()}
        assert {task.holder.code for task in request.holder_tasks.all()} == holders
        if request.state in (State.DELIVERED, State.CLOSED):
            assert {task.state for task in request.holder_tasks.all()} == {State.DELIVERED}
