"""Two real connections firing transitions on the same request at once (PostgreSQL row locks).

Each thread has its own ``django.db.connection`` and closes it when done. The test database is
committed to (transaction=True), so every test re-seeds the catalogue and the role groups that
an earlier transactional test's flush may have removed.
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.utils import translation

from access_requests import services
from access_requests.exceptions import ConcurrentUpdate, DomainError, IllegalTransition
from access_requests.models import AccessRequest, Event
from access_requests.roles import ensure_role_groups
from access_requests.workflow import Role, State
from tests.conftest import make_user

pytestmark = [
    pytest.mark.postgres,  # row locks between concurrent connections: fails on another database
    pytest.mark.django_db(transaction=True),
]

HOLD = 0.6  # seconds the first transaction keeps the row locked
JOIN_TIMEOUT = 30


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _load_migrated_data() -> None:
    """The rows the data migrations and post_migrate put in a fresh database: catalogue, role groups."""
    importlib.import_module("catalog.migrations.0002_load_catalogue").load(django_apps, None)
    ensure_role_groups()


@pytest.fixture(autouse=True)
def _catalogue_and_groups(db):
    """A transactional test's flush empties the catalogue (loaded by a data migration): reload it."""
    _load_migrated_data()


@pytest.fixture(scope="module", autouse=True)
def _leave_the_migrated_data_behind(django_db_setup, django_db_blocker):
    """After the last flush of this module, put the catalogue back for the tests that follow (and
    for the next run with --reuse-db, which does not re-run the data migrations)."""
    yield
    with django_db_blocker.unblock():
        _load_migrated_data()


@pytest.fixture
def second_secretariat(_catalogue_and_groups):
    return make_user("secretariat2@hdh.example", role=Role.SECRETARIAT)


@dataclass
class Outcome:
    value: object = None
    error: Exception | None = None
    crash: BaseException | None = None
    elapsed: float = 0.0


def start(target, results: dict, key: str) -> threading.Thread:
    """Run ``target`` in a thread with its own connection; record what it returned or raised."""

    def run():
        began = time.monotonic()
        try:
            with translation.override("fr"):
                results[key] = Outcome(value=target())
        except DomainError as exc:
            results[key] = Outcome(error=exc)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[key] = Outcome(crash=exc)
        finally:
            results[key].elapsed = time.monotonic() - began
            connection.close()

    thread = threading.Thread(target=run, name=f"race-{key}")
    thread.start()
    return thread


def join(threads) -> None:
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} still running: deadlock?"


def events_of(request_id: int) -> list[Event]:
    return list(Event.objects.filter(request_id=request_id).order_by("at", "id"))


def assert_exactly_one_winner(results: dict, request: AccessRequest, events_before: int,
                              loser_errors=(IllegalTransition, ConcurrentUpdate)) -> tuple[str, str]:
    crashes = {k: o.crash for k, o in results.items() if o.crash is not None}
    assert crashes == {}
    winners = [k for k, o in results.items() if o.error is None]
    losers = [k for k, o in results.items() if o.error is not None]
    assert len(winners) == 1, results
    for key in losers:
        error = results[key].error
        assert isinstance(error, loser_errors), repr(error)
        assert request.reference in str(error)
    events = events_of(request.pk)
    assert len(events) == events_before + 1
    reloaded = AccessRequest.objects.get(pk=request.pk)
    assert reloaded.state == events[-1].to_state == results[winners[0]].value.state
    assert events[-1].from_state == request.state
    return winners[0], reloaded.state


def test_second_caller_blocks_on_the_row_lock_then_gets_a_clear_domain_error(
        make_request, personas, second_secretariat):
    request = make_request(State.SUBMITTED)
    before = len(events_of(request.pk))
    barrier = threading.Barrier(3)
    results: dict[str, Outcome] = {}
    timings: dict[str, float] = {}

    def holder():
        with transaction.atomic():
            AccessRequest.objects.select_for_update().get(pk=request.pk)
            barrier.wait(timeout=10)
            time.sleep(HOLD)  # the other caller is now waiting on our row lock
            return services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])

    def waiter():
        barrier.wait(timeout=10)
        began = time.monotonic()
        try:
            return services.forward_to_cesrees(request_id=request.pk, actor=second_secretariat)
        finally:
            timings["waited"] = time.monotonic() - began

    threads = [start(holder, results, "first"), start(waiter, results, "second")]
    barrier.wait(timeout=10)
    saw_lock_wait = False
    deadline = time.monotonic() + HOLD
    while time.monotonic() < deadline and not saw_lock_wait:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query ILIKE %s",
                # pg_stat_activity cuts long queries at 1 kB, before "FOR UPDATE": match the table.
                ['SELECT "access_requests_accessrequest".%'],
            )
            saw_lock_wait = cursor.fetchone()[0] == 1
        time.sleep(0.02)
    join(threads)
    waited = timings["waited"]

    assert saw_lock_wait, "the second caller never waited on the row lock"
    assert results["first"].error is None and results["first"].crash is None
    assert results["first"].value.state == State.CESREES_REVIEW
    error = results["second"].error
    assert isinstance(error, IllegalTransition), repr(results["second"])
    assert waited >= HOLD - 0.05, f"the second caller returned after {waited:.3f}s without waiting"
    message = str(error)
    assert request.reference in message
    assert "« Avis du CESREES »" in message  # where the request now is ...
    assert "passage impossible" in message  # ... and that the move was refused
    assert_exactly_one_winner(results, request, before)
    assert [e.actor_id for e in events_of(request.pk)][-1] == personas["secretariat"].pk


def test_same_transition_fired_twice_at_once_succeeds_exactly_once(make_request, personas, second_secretariat):
    # Repeated to shake out races: both callers are released together by the barrier.
    for _round in range(10):
        request = make_request(State.SUBMITTED)
        before = len(events_of(request.pk))
        barrier = threading.Barrier(2)
        results: dict[str, Outcome] = {}

        def forward(actor, barrier=barrier, request=request):
            barrier.wait(timeout=10)
            return services.forward_to_cesrees(request_id=request.pk, actor=actor)

        join([start(lambda: forward(personas["secretariat"]), results, "a"),
              start(lambda: forward(second_secretariat), results, "b")])

        _winner, state = assert_exactly_one_winner(results, request, before)
        assert state == State.CESREES_REVIEW
        assert Event.objects.filter(request=request, action="forward_to_cesrees").count() == 1


CALLS = {
    "forward_to_cesrees": (
        lambda rid, u: services.forward_to_cesrees(request_id=rid, actor=u), State.CESREES_REVIEW),
    "request_information": (
        lambda rid, u: services.request_information(request_id=rid, actor=u, question="Budget ?"),
        State.AWAITING_APPLICANT),
    "reject": (lambda rid, u: services.reject(request_id=rid, actor=u, reason="Hors champ"), State.REJECTED),
}


@pytest.mark.parametrize(("first", "second"), [
    ("forward_to_cesrees", "request_information"),
    ("forward_to_cesrees", "reject"),
    ("request_information", "reject"),
])
def test_two_different_transitions_from_the_same_state_at_once_only_one_wins(
        make_request, personas, second_secretariat, first, second):
    for _round in range(3):
        request = make_request(State.SUBMITTED)
        before = len(events_of(request.pk))
        barrier = threading.Barrier(2)
        results: dict[str, Outcome] = {}

        def fire(name, actor, barrier=barrier, request=request):
            barrier.wait(timeout=10)
            return CALLS[name][0](request.pk, actor)

        join([start(lambda: fire(first, personas["secretariat"]), results, first),
              start(lambda: fire(second, second_secretariat), results, second)])

        # The loser may also meet ActionNotPermitted: e.g. once forwarded to the CESREES, asking the
        # applicant for information belongs to the CESREES, not the secretariat.
        winner, state = assert_exactly_one_winner(results, request, before, loser_errors=DomainError)
        assert state == CALLS[winner][1]
        assert events_of(request.pk)[-1].action == winner


def test_three_reviewers_racing_from_submitted_leave_one_consistent_outcome(
        make_request, personas, second_secretariat):
    third = make_user("secretariat3@hdh.example", role=Role.SECRETARIAT)
    actors = {"forward_to_cesrees": personas["secretariat"], "request_information": second_secretariat,
              "reject": third}
    for _round in range(3):
        request = make_request(State.SUBMITTED)
        before = len(events_of(request.pk))
        barrier = threading.Barrier(3)
        results: dict[str, Outcome] = {}

        def fire(name, barrier=barrier, request=request):
            barrier.wait(timeout=10)
            return CALLS[name][0](request.pk, actors[name])

        join([start(lambda name=name: fire(name), results, name) for name in CALLS])

        winner, state = assert_exactly_one_winner(results, request, before, loser_errors=DomainError)
        assert state == CALLS[winner][1]


def test_contract_signature_and_question_from_contracting_at_once_only_one_wins(make_request, personas):
    from catalog.models import DataHolder

    other_agent = make_user("cnam2@cnam.example", role=Role.DATA_HOLDER,
                            data_holder=DataHolder.objects.get(code="cnam"))
    request = make_request(State.CONTRACTING)
    before = len(events_of(request.pk))
    barrier = threading.Barrier(2)
    results: dict[str, Outcome] = {}

    def sign_contract():
        with transaction.atomic():
            AccessRequest.objects.select_for_update().get(pk=request.pk)
            barrier.wait(timeout=10)
            time.sleep(HOLD)  # the question is now waiting on the row lock
            return services.record_contract_signed(request_id=request.pk, actor=personas["cnam"],
                                                   expected_state=State.CONTRACTING)

    def ask_question():
        barrier.wait(timeout=10)
        return services.request_information(request_id=request.pk, actor=other_agent,
                                            question="Qui signe la convention ?", expected_state=State.CONTRACTING)

    join([start(sign_contract, results, "sign"), start(ask_question, results, "ask")])

    assert_exactly_one_winner(results, request, before, loser_errors=DomainError)
