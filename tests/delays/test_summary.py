"""The dashboard's summary (delays.summary): moved by each recompute, it stays equal to a rebuild,
and the dashboard reads from it the figures the rows give."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from django.db import connection
from django.utils import timezone

from access_requests.models import AccessRequest, HolderTask, HolderTaskState
from access_requests.workflow import State
from delays import dashboard, holders, summary
from delays.materialise import materialise_request, materialise_requests
from delays.models import RequestDelay
from tests.backoffice.helpers import import_sample

pytestmark = pytest.mark.postgres


@pytest.fixture
def sample(tmp_path, db):
    import_sample(tmp_path, 80, seed=16, as_of=timezone.now() - dt.timedelta(hours=1))
    return sorted(RequestDelay.objects.values_list("request_id", flat=True))


def _moves(ids: list[int], rounds: int, seed: int) -> None:
    """Recompute random requests as of random instants (2019 to now): rows appear, change stage,
    get delivered, go back to open or vanish (before their submission), one batch at a time."""
    rng = random.Random(seed)
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    span = (timezone.now() - start).total_seconds()
    for _ in range(rounds):
        now = start + dt.timedelta(seconds=rng.uniform(0, span))
        materialise_requests(rng.sample(ids, rng.randint(1, 8)), now=now)


def test_an_import_leaves_the_summary_equal_to_a_rebuild(sample):
    imported = summary.snapshot()
    summary.rebuild_summary()

    assert summary.snapshot() == imported
    measures = {measure for measure, _stage, _quarter, _day in imported}
    assert {"stage", "elapsed", "institution", "quarter", "quarter_access", "cohort", "open"} <= measures


def test_recomputes_one_after_another_keep_the_summary_equal_to_a_rebuild(sample):
    _moves(sample, rounds=40, seed=1)
    moved = summary.snapshot()
    summary.rebuild_summary()

    assert summary.snapshot() == moved
    assert moved != {}


def test_the_dashboard_from_the_summary_gives_the_figures_of_the_rows(sample, monkeypatch):
    _moves(sample, rounds=25, seed=2)
    materialise_requests(sample)  # back to now: deliveries and open requests of every kind
    now = timezone.now()
    kept = dashboard.build_dashboard(now=now)
    monkeypatch.setattr(dashboard, "_from_summary", lambda filters, now: False)
    computed = dashboard.build_dashboard(now=now)

    assert kept == computed
    assert kept["summary"]["delivered"] > 20 and kept["headline_quarters"] and kept["submission_quarters"]
    assert sum(row["total"] for row in kept["current_stages"]) > 0


def test_the_dashboard_reads_the_rows_when_asked_as_of_an_instant_before_a_delivery(sample):
    first = RequestDelay.objects.filter(delivered_at__isnull=False).order_by("delivered_at").first()
    assert first is not None
    before = first.delivered_at - dt.timedelta(seconds=1)

    assert not dashboard._from_summary(dashboard.DashboardFilters(), before)
    assert dashboard._from_summary(dashboard.DashboardFilters(), timezone.now())
    assert not dashboard._from_summary(dashboard.DashboardFilters(dataset_id=1), timezone.now())


@pytest.mark.django_db(transaction=True)
def test_two_recomputes_of_one_request_at_once_move_its_contribution_once(tmp_path):
    """Two workers recompute the same request concurrently (its row going from open to delivered):
    the request lock makes them take turns, so the summary still equals a rebuild."""
    import_sample(tmp_path, 30, seed=3, as_of=timezone.now() - dt.timedelta(hours=1))
    delivered = RequestDelay.objects.filter(state__in=(State.DELIVERED, State.CLOSED), requires_matching=True).first()
    assert delivered is not None
    # Back to before its delivery: open, in the summary as such.
    materialise_requests([delivered.request_id], now=delivered.delivered_at - dt.timedelta(days=1))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def recompute() -> None:
        try:
            barrier.wait(timeout=10)
            materialise_request(delivered.request_id)
        except BaseException as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=recompute) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    moved = summary.snapshot()
    summary.rebuild_summary()
    assert summary.snapshot() == moved


def test_holders_percentiles_read_through_the_index_are_those_of_the_sorted_tasks(sample):
    everything = holders._delivered_percentiles(HolderTask.objects.filter(delivered_at__isnull=False))

    assert holders._indexed_percentiles(None) == everything
    assert any(count > 2 for count, _median, _p90 in everything.values())
    holder_id = next(iter(everything))[0]
    assert holders._indexed_percentiles(holder_id) == holders._delivered_percentiles(
        HolderTask.objects.filter(delivered_at__isnull=False, holder_id=holder_id))


def _task_moves(rounds: int, seed: int) -> None:
    """Random changes of the data holders' tasks, each followed by its request's recompute (as
    after a committed change): delivered (now and then at a sibling's instant: a tie for last),
    back to extraction, a new due date, the request withdrawn."""
    rng = random.Random(seed)
    now = timezone.now()
    tasks = list(HolderTask.objects.order_by("pk"))
    for _ in range(rounds):
        task = rng.choice(tasks)
        state, delivered_at, due_date = task.state, task.delivered_at, task.due_date
        move = rng.choice(("deliver", "deliver", "tie", "reopen", "due", "withdraw"))
        sibling = HolderTask.objects.filter(request_id=task.request_id, delivered_at__isnull=False).exclude(pk=task.pk)
        if move == "tie" and sibling.exists():
            state, delivered_at = HolderTaskState.DELIVERED, sibling.values_list("delivered_at", flat=True)[0]
        elif move in ("deliver", "tie"):
            state = HolderTaskState.DELIVERED
            delivered_at = task.created_at + (now - task.created_at) * rng.random()
        elif move == "reopen":
            state, delivered_at = HolderTaskState.EXTRACTION, None
        elif move == "due":
            due_date = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 1200))
        else:
            AccessRequest.objects.filter(pk=task.request_id).update(state=State.WITHDRAWN)
        HolderTask.objects.filter(pk=task.pk).update(state=state, delivered_at=delivered_at, due_date=due_date)
        task.refresh_from_db()
        materialise_request(task.request_id)


def test_task_moves_keep_the_holders_counts_equal_to_a_rebuild_and_to_the_tasks(sample, monkeypatch):
    assert HolderTask.objects.count() > 20
    _task_moves(rounds=60, seed=3)
    moved = summary.snapshot()
    summary.rebuild_summary()

    assert summary.snapshot() == moved
    assert {measure for measure, *_key in moved} >= set(holders.HOLDER_MEASURES)
    now = timezone.now()
    kept = holders.holder_figures(now)
    monkeypatch.setattr(holders, "_summary_covers", lambda as_of: False)
    computed = holders.holder_figures(now)

    assert kept == computed
    assert sum(f.last_to_deliver for f in kept) > 0 and sum(f.open for f in kept) > 0
    assert sum(f.overdue for f in kept) > 0
