"""The history import on PostgreSQL (issue 16): a staging table, COPY writes, the same result.

The COPY path must write exactly what the in-memory path (``bulk_create``, SQLite's) writes,
report the same errors with their lines, write nothing when refused, and run a bounded number of
queries per chunk of references.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from access_requests import history_import
from access_requests.history_import import HistoryImportError, import_history
from access_requests.models import AccessRequest, Event, HolderTask, HolderTaskEvent, ReferenceSequence
from catalog.models import Dataset
from delays import receivers
from delays.models import DelayBaseline, RequestDelay
from demo.history import COLUMNS, generate

pytestmark = pytest.mark.django_db

GROUPED_BY_REFERENCE = history_import._grouped_by_reference  # before the fixture below replaces it
AS_OF = dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 1, 15, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _postgresql():
    assert connection.vendor == "postgresql", "run this suite with DATABASE_URL=postgres://... (see Makefile)"


@pytest.fixture(autouse=True, params=["one pass", "staged"])
def reading(request, monkeypatch) -> str:
    """Every test of this module on both ways of reading the file: once when each reference's rows
    come together (the generated files), and through the staging table (any other file)."""
    if request.param == "staged":
        monkeypatch.setattr(history_import, "_grouped_by_reference", lambda raw: False)
    return request.param


def generated_csv(path: Path, n: int, *, seed: int, extra_rows: tuple[str, ...] = (), prefix: str = "") -> int:
    """A generated history with the ``holder`` column; returns the line of the last row."""
    holders_of = dict(Dataset.objects.values_list("code", "holder__code"))
    line = 1
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "holder"], lineterminator="\n")
        writer.writeheader()
        for row in generate(n, seed=seed, as_of=AS_OF, holders_of=holders_of):
            row["reference"] = prefix + row["reference"]
            writer.writerow(row)
            line += 1
        for text in extra_rows:
            out.write(text + "\n")
            line += 1
    return line


def contents() -> dict[str, Any]:
    """Everything an import writes, keyed by reference (ids differ from one import to another)."""
    reference_of = dict(AccessRequest.objects.values_list("pk", "reference"))
    skip = {"id", "updated_at"}
    requests = {r["reference"]: {k: v for k, v in r.items() if k not in skip} for r in AccessRequest.objects.values()}
    datasets = sorted(AccessRequest.datasets.through.objects.values_list("accessrequest__reference", "dataset__code"))
    events: dict[str, list[tuple]] = {}
    for e in Event.objects.order_by("request_id", "at", "id").values_list(
            "request_id", "from_state", "to_state", "action", "at", "actor_id", "role", "comment", "payload"):
        events.setdefault(reference_of[e[0]], []).append(e[1:])
    tasks = {(reference_of[t["request_id"]], t["holder_id"]): {k: v for k, v in t.items() if k not in {"id", "request_id"}}
             for t in HolderTask.objects.values()}
    task_events: dict[tuple[str, int], list[tuple]] = {}
    for e in HolderTaskEvent.objects.order_by("task_id", "at", "id").values_list(
            "task__request_id", "task__holder_id", "from_state", "to_state", "action", "at", "actor_id", "role",
            "comment", "payload"):
        task_events.setdefault((reference_of[e[0]], e[1]), []).append(e[2:])
    delays = {reference_of[d["request_id"]]: {k: v for k, v in d.items() if k != "request_id"}
              for d in RequestDelay.objects.values()}
    return {
        "requests": requests, "datasets": datasets, "events": events, "tasks": tasks, "task_events": task_events,
        "delays": delays, "sequences": sorted(ReferenceSequence.objects.values_list("year", "last")),
        "baseline": {b.key: b.medians for b in DelayBaseline.objects.all()},
    }


def written() -> tuple[int, ...]:
    return (AccessRequest.objects.count(), Event.objects.count(), HolderTask.objects.count(),
            HolderTaskEvent.objects.count(), RequestDelay.objects.count(), ReferenceSequence.objects.count())


def in_memory_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this PostgreSQL database take SQLite's path: in-memory validation, bulk_create, the
    delay rows one batch at a time."""
    monkeypatch.setattr(history_import, "_copy_writes", lambda: False)
    monkeypatch.setattr(receivers, "connection", SimpleNamespace(vendor="sqlite"))


def test_the_copy_path_writes_exactly_what_the_in_memory_path_writes(tmp_path, monkeypatch):
    path = tmp_path / "history.csv"
    generated_csv(path, 300, seed=5)
    with time_machine.travel(NOW, tick=False):
        with monkeypatch.context() as patch:
            in_memory_path(patch)
            with transaction.atomic():
                slow = import_history(path, batch_size=70)
                expected = contents()
                transaction.set_rollback(True)
        assert written() == (0, 0, 0, 0, 0, 0)
        fast = import_history(path, batch_size=70)
        got = contents()
    assert (fast.created, fast.events_written, fast.task_events_written) == (
        slow.created, slow.events_written, slow.task_events_written)
    assert fast.created == 300 and len(got["tasks"]) > 100 and len(got["delays"]) > 250
    for table in expected:
        assert got[table] == expected[table], table

    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        again = import_history(path, batch_size=70)  # idempotent: nothing written, nothing recomputed
    assert (again.created, again.extended, again.unchanged, again.events_written) == (0, 0, 300, 0)
    assert contents() == got


def test_a_history_extended_by_a_second_file_ends_as_on_the_in_memory_path(tmp_path, monkeypatch):
    # The second file moves requests on: their delay rows come from the database (not from the
    # histories in memory), the open ones after the refreshed baseline, as on the in-memory path.
    path, first = tmp_path / "history.csv", tmp_path / "first.csv"
    generated_csv(path, 120, seed=11)
    with open(path, encoding="utf-8") as source:
        header, *rows = source.read().splitlines()
    last_row = {line.split(",", 1)[0]: index for index, line in enumerate(rows)}
    cut = {index for reference, index in last_row.items()
           if sum(1 for line in rows if line.startswith(reference + ",")) > 2}
    first.write_text("\n".join([header, *(line for index, line in enumerate(rows) if index not in cut)]) + "\n",
                     encoding="utf-8")
    with time_machine.travel(NOW, tick=False):
        with monkeypatch.context() as patch:
            in_memory_path(patch)
            with transaction.atomic():
                import_history(first)
                slow = import_history(path)
                expected = contents()
                transaction.set_rollback(True)
        import_history(first)
        fast = import_history(path)
        got = contents()
    assert fast.extended == slow.extended > 50
    for table in expected:
        assert got[table] == expected[table], table


def test_an_error_at_line_n_names_line_n_and_leaves_nothing_written(tmp_path):
    path = tmp_path / "history.csv"
    # References sort after the generated ones: the earlier chunks are written before the
    # staging table reaches this one, then rolled back.
    last = generated_csv(path, 200, seed=6, extra_rows=(
        "ZZ-1,2024-01-02T09:00:00Z,draft,snds,,Titre,",
        "ZZ-1,2024-01-12T09:00:00Z,cnil_review,,,,",
    ))
    with pytest.raises(HistoryImportError) as caught:
        import_history(path, batch_size=40)
    assert [(issue.line, issue.reference) for issue in caught.value.issues] == [(last, "ZZ-1")]
    assert "« draft » à « cnil_review »" in caught.value.issues[0].message
    assert written() == (0, 0, 0, 0, 0, 0)


def test_a_difference_with_the_database_in_a_late_chunk_leaves_nothing_written(tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("reference,at,state,datasets,requires_matching,title\n"
                     "ZZ-1,2024-01-02T09:00:00Z,submitted,snds,,Titre\n", encoding="utf-8")
    import_history(first)
    before = written()
    path = tmp_path / "history.csv"
    generated_csv(path, 200, seed=6, extra_rows=("ZZ-1,2024-01-03T09:00:00Z,submitted,snds,,Titre,",))
    with pytest.raises(HistoryImportError) as caught:
        import_history(path, batch_size=40)
    [issue] = caught.value.issues
    assert issue.reference == "ZZ-1" and "différent" in issue.message
    assert written() == before


def test_the_same_errors_as_the_in_memory_path_with_their_lines(tmp_path, monkeypatch):
    path = tmp_path / "history.csv"
    generated_csv(path, 50, seed=8, extra_rows=(
        "X-1,2024-01-02T09:00:00,submitted,snds,,T,",  # naive time
        "X-2,2024-01-02T09:00:00Z,submitted,foo,,T,",  # unknown dataset
        "X-3,2024-01-02T09:00:00Z,draft,snds,,T,",
        "X-3,2024-01-03T09:00:00Z,delivered,,,,",  # illegal transition
        ",2024-01-02T09:00:00Z,submitted,snds,,T,",  # empty reference
        "X-4,2024-01-02T09:00:00Z,submitted,snds,,T",  # a column short
        "X-5,2024-01-02T09:00:00Z,submitted,snds,,,",  # no title
    ))
    with pytest.raises(HistoryImportError) as fast:
        import_history(path, batch_size=20)
    with monkeypatch.context() as patch:
        in_memory_path(patch)
        with pytest.raises(HistoryImportError) as slow:
            import_history(path, batch_size=20)
    assert [str(issue) for issue in fast.value.issues] == [str(issue) for issue in slow.value.issues]
    assert len(fast.value.issues) == 6
    assert written() == (0, 0, 0, 0, 0, 0)


def test_queries_are_bounded_per_chunk(tmp_path, reading):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    generated_csv(small, 100, seed=1, prefix="S")
    generated_csv(large, 400, seed=2, prefix="L")
    with CaptureQueriesContext(connection) as q_small:
        import_history(small, batch_size=50)  # 2 chunks
    with CaptureQueriesContext(connection) as q_large:
        result = import_history(large, batch_size=50)  # 8 chunks
    assert result.created == 400
    copies = [q["sql"] for q in q_large.captured_queries if q["sql"].startswith("COPY")]
    assert copies, "the rows are written by COPY"
    staged = [sql for sql in copies if history_import.STAGING_TABLE in sql]
    assert len(staged) == (0 if reading == "one pass" else 1)
    # Each chunk: look up its references, reserve request ids, COPY the requests, their datasets
    # and events, look up the holders and the existing tasks, reserve task ids, COPY the tasks
    # and their events, then the delay rows of its requests computed from memory: eleven queries,
    # whatever the number of rows.
    assert len(q_large) - len(q_small) <= 6 * 11, (len(q_small), len(q_large))


def interleaved(source: Path, target: Path) -> None:
    """The rows of ``source`` in the order of their instants (as a log of events would list them):
    each reference's rows are no longer together."""
    with open(source, encoding="utf-8") as lines:
        header, *rows = lines.read().splitlines()
    rows.sort(key=lambda line: line.split(",")[1])
    target.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def test_whether_each_reference_comes_in_one_run_of_rows(tmp_path):
    grouped, mixed = tmp_path / "grouped.csv", tmp_path / "mixed.csv"
    generated_csv(grouped, 30, seed=3)
    interleaved(grouped, mixed)
    cases = {
        grouped: True, mixed: False,
        tmp_path / "empty.csv": False, tmp_path / "header.csv": False, tmp_path / "latin1.csv": False,
        tmp_path / "blank.csv": True, tmp_path / "quote.csv": False,
    }
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("ref,at,state\nA,2024-01-02T09:00:00Z,draft\n", encoding="utf-8")
    (tmp_path / "latin1.csv").write_bytes("reference,at,state,datasets,requires_matching,title\n"
                                          "A,2024-01-02T09:00:00Z,draft,snds,,Étude\n".encode("latin-1"))
    (tmp_path / "blank.csv").write_text("reference,at,state,datasets,requires_matching,title\n"
                                        "A,2024-01-02T09:00:00Z,draft,snds,,T\n\n"
                                        "A,2024-01-03T09:00:00Z,submitted,,,\nB,2024-01-02T09:00:00Z,draft,snds,,T\n",
                                        encoding="utf-8")
    (tmp_path / "quote.csv").write_text('reference,at,state,datasets,requires_matching,title\nA,"x"y,draft,,,\n',
                                        encoding="utf-8")
    for path, expected in cases.items():
        with open(path, "rb") as raw:
            assert GROUPED_BY_REFERENCE(raw) is expected, path.name
            assert raw.tell() == 0  # rewound for the reading pass


def test_a_file_read_from_a_pipe_is_read_once_through_the_staging_table(tmp_path):
    path, fifo = tmp_path / "history.csv", tmp_path / "history.fifo"
    generated_csv(path, 40, seed=4)
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(path.read_bytes()))
    writer.start()
    try:
        result = import_history(fifo)
    finally:
        writer.join(10)
    assert result.created == 40
    read, write = os.pipe()
    os.write(write, path.read_bytes()[:1000])
    os.close(write)
    with os.fdopen(read, "rb") as raw:
        assert GROUPED_BY_REFERENCE(raw) is False
        assert len(raw.read()) == 1000  # nothing consumed


def test_a_file_that_changes_between_the_two_passes_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    grouped, mixed = tmp_path / "grouped.csv", tmp_path / "mixed.csv"
    generated_csv(grouped, 60, seed=9)
    interleaved(grouped, mixed)
    monkeypatch.setattr(history_import, "_grouped_by_reference", lambda raw: True)  # what the first pass saw
    with pytest.raises(HistoryImportError) as caught:
        import_history(mixed, batch_size=20)
    [issue] = caught.value.issues
    assert issue.line is None and "revient plus loin" in issue.message
    assert written() == (0, 0, 0, 0, 0, 0)


def test_a_file_in_the_order_of_its_instants_imports_as_the_same_file_grouped(tmp_path, reading):
    grouped, mixed = tmp_path / "grouped.csv", tmp_path / "mixed.csv"
    generated_csv(grouped, 150, seed=12)
    interleaved(grouped, mixed)
    with time_machine.travel(NOW, tick=False):
        with transaction.atomic():
            import_history(grouped, batch_size=40)
            expected = contents()
            transaction.set_rollback(True)
        with CaptureQueriesContext(connection) as queries:
            result = import_history(mixed, batch_size=40)
    assert result.created == 150
    assert any(history_import.STAGING_TABLE in q["sql"] and q["sql"].startswith("COPY")
               for q in queries.captured_queries), "a file not grouped by reference goes through the staging table"
    got = contents()
    for table in expected:
        if table in ("events", "task_events"):  # the payload names each row's line, which the reordering moved
            assert got[table].keys() == expected[table].keys(), table
            for owner in expected[table]:
                assert [e[:-1] for e in got[table][owner]] == [e[:-1] for e in expected[table][owner]], table
            continue
        assert got[table] == expected[table], table
