"""The event log: one row per change, chained, append-only in the ORM and in the database."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from access_requests import services
from access_requests.exceptions import DomainError, EventLogImmutable
from access_requests.models import AccessRequest, Event
from tests.conftest import advance_other_holders

CNIL_DECISION = {"decision_number": "DR-2025-042", "decision_date": dt.date(2025, 4, 2)}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def events_of(request_id: int) -> list[Event]:
    return list(Event.objects.filter(request_id=request_id).order_by("at", "id"))


def assert_log_is_consistent(request_id: int) -> None:
    request = AccessRequest.objects.get(pk=request_id)
    events = events_of(request_id)
    assert events, "a request always has its creation event"
    first, *rest = events
    assert (first.action, first.from_state, first.to_state) == ("create", "", "draft")
    for previous, event in zip(events, rest, strict=False):
        assert event.from_state == previous.to_state, f"broken chain at event {event.pk} ({event.action})"
        assert event.action != "create"
    assert request.state == events[-1].to_state


# --- invariants over any sequence of services -----------------------------------------------
PAUSABLE = ("submitted", "cesrees_review", "cnil_review", "contracting", "matching")
MOVES = [
    # (service call, personas who would usually do it, states it is meant for)
    (lambda rid, u: services.submit(request_id=rid, actor=u), ["applicant", "colleague"], ("draft",)),
    (lambda rid, u: services.withdraw(request_id=rid, actor=u, reason="Abandon"), ["applicant", "secretariat"],
     ("draft", "awaiting_applicant", *PAUSABLE, "extraction")),
    (lambda rid, u: services.request_information(request_id=rid, actor=u, question="?"),
     ["secretariat", "cesrees", "cnil", "cnam", "curie"], PAUSABLE),
    (lambda rid, u: services.answer_information(request_id=rid, actor=u, answer="!"), ["applicant", "colleague"],
     ("awaiting_applicant",)),
    (lambda rid, u: services.forward_to_cesrees(request_id=rid, actor=u), ["secretariat"], ("submitted",)),
    (lambda rid, u: services.approve_without_review(request_id=rid, actor=u), ["secretariat"], ("submitted",)),
    (lambda rid, u: services.reject(request_id=rid, actor=u, reason="Non"), ["secretariat"], ("submitted",)),
    (lambda rid, u: services.record_cesrees_opinion(request_id=rid, actor=u, opinion="reserved"), ["cesrees"],
     ("cesrees_review",)),
    (lambda rid, u: services.record_cnil_decision(request_id=rid, actor=u, authorised=True, **CNIL_DECISION),
     ["cnil"], ("cnil_review",)),
    (lambda rid, u: services.record_cnil_decision(request_id=rid, actor=u, authorised=False, **CNIL_DECISION),
     ["cnil"], ("cnil_review",)),
    (lambda rid, u: services.record_contract_signed(request_id=rid, actor=u), ["cnam", "curie", "secretariat"],
     ("contracting",)),
    (lambda rid, u: services.record_matching_done(request_id=rid, actor=u), ["cnam", "curie"], ("matching",)),
    (lambda rid, u: services.deliver(request_id=rid, actor=u), ["cnam", "curie", "platform"], ("extraction",)),
    (lambda rid, u: services.close(request_id=rid, actor=u), ["platform", "secretariat"], ("delivered",)),
    (lambda rid, u: services.extend_review(request_id=rid, actor=u), ["cesrees", "cnil"],
     ("cesrees_review", "cnil_review")),
]
# The moves that act on holder tasks (services.tasks.act_on_tasks).
TASK_MOVES = {10, 11, 12}
# Withdrawals and rejections end a walk: make them rarer so walks get far.
WEIGHTS = [4, 1, 3, 4, 4, 2, 1, 4, 4, 1, 4, 4, 4, 4, 2]


@pytest.mark.parametrize("seed", range(6))
def test_any_sequence_of_services_keeps_the_log_chained_and_the_state_equal_to_the_last_event(
        make_request, personas, seed):
    rng = random.Random(seed)
    choices = {"route": ["standard", "reference_methodology", "simplified"],
               "codes": [("snds",), ("snds", "oscour"), ("realigist",), ("realigist", "oscour")]}

    def new_request():
        return make_request("draft", codes=rng.choice(choices["codes"]), route=rng.choice(choices["route"]),
                            brings_own_data=rng.random() < 0.3)

    request = new_request()
    outcomes = {"done": 0, "refused": 0}
    for _step in range(50):
        state = AccessRequest.objects.get(pk=request.pk).state
        # Mostly a move meant for the current state by its usual actors; sometimes anything by anyone.
        meant = [i for i, (_call, _usual, sources) in enumerate(MOVES) if state in sources]
        pool = meant if meant and rng.random() < 0.8 else range(len(MOVES))
        index = rng.choices(list(pool), weights=[WEIGHTS[i] for i in pool])[0]
        move, usual, _sources = MOVES[index]
        persona = rng.choice(usual) if rng.random() < 0.85 else rng.choice(list(personas))
        count = Event.objects.filter(request=request).count()
        try:
            move(request.pk, personas[persona])
        except DomainError:
            outcomes["refused"] += 1
            assert Event.objects.filter(request=request).count() == count
            assert AccessRequest.objects.get(pk=request.pk).state == state
        else:
            outcomes["done"] += 1
            written = Event.objects.filter(request=request).count() - count
            # One event per request move: an action on holder tasks moves the request only once its
            # least advanced task moves (tests/access_requests/test_holder_tasks.py).
            assert written == 1 or (index in TASK_MOVES and written == 0)
        assert_log_is_consistent(request.pk)
        if AccessRequest.objects.get(pk=request.pk).state in ("rejected", "withdrawn", "closed"):
            request = new_request()
    assert outcomes["done"] >= 10  # the walk did move


def test_creation_event_has_no_source_state_and_records_the_applicant(make_request, personas):
    request = make_request("draft")
    (event,) = events_of(request.pk)
    assert (event.from_state, event.to_state, event.action) == ("", "draft", "create")
    assert (event.actor_id, event.role) == (personas["applicant"].pk, "applicant")


def test_full_pathway_with_pauses_is_one_unbroken_chain(make_request, personas):
    request = make_request("awaiting_applicant", paused_from="cesrees_review")
    services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Voici.")
    services.extend_review(request_id=request.pk, actor=personas["cesrees"])
    services.record_cesrees_opinion(request_id=request.pk, actor=personas["cesrees"], opinion="favourable")
    services.record_cnil_decision(request_id=request.pk, actor=personas["cnil"], authorised=True, **CNIL_DECISION)
    advance_other_holders(request)  # Santé publique France delivers its part: the CNAM's moves the request
    services.request_information(request_id=request.pk, actor=personas["cnam"], question="Signataire ?")
    services.answer_information(request_id=request.pk, actor=personas["colleague"], answer="La directrice.")
    services.record_contract_signed(request_id=request.pk, actor=personas["cnam"])
    services.record_matching_done(request_id=request.pk, actor=personas["cnam"])
    services.deliver(request_id=request.pk, actor=personas["platform"])
    services.close(request_id=request.pk, actor=personas["secretariat"])

    assert_log_is_consistent(request.pk)
    assert [e.to_state for e in events_of(request.pk)] == [
        "draft", "submitted", "cesrees_review", "awaiting_applicant", "cesrees_review", "cesrees_review",
        "cnil_review", "contracting", "awaiting_applicant", "contracting", "matching", "extraction", "delivered",
        "closed",
    ]


@pytest.mark.parametrize(("stage", "persona"), [("cesrees_review", "cesrees"), ("cnil_review", "cnil")])
def test_extension_writes_an_event_from_and_to_the_same_state(make_request, personas, stage, persona):
    request = make_request(stage)
    services.extend_review(request_id=request.pk, actor=personas[persona], comment="Dossier complexe")
    event = events_of(request.pk)[-1]
    assert (event.action, event.from_state, event.to_state) == ("extend_review", stage, stage)
    assert (event.actor_id, event.role, event.comment) == (personas[persona].pk, persona, "Dossier complexe")
    assert_log_is_consistent(request.pk)


def test_event_records_question_and_answer_payloads(make_request, personas):
    request = make_request("submitted")
    services.request_information(request_id=request.pk, actor=personas["secretariat"], question=" Budget ? ")
    services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Dix mille euros.")
    asked, answered = events_of(request.pk)[-2:]
    assert (asked.comment, asked.payload) == ("Budget ?", {"question": "Budget ?"})
    assert (answered.comment, answered.payload) == ("Dix mille euros.", {"answer": "Dix mille euros."})


# --- the ORM refuses to change or remove an event -------------------------------------------
@pytest.fixture
def logged_request(make_request):
    request = make_request("cesrees_review")
    snapshot = [(e.pk, e.from_state, e.to_state, e.action, e.at, e.actor_id, e.role, e.comment)
                for e in events_of(request.pk)]
    return request, snapshot


def _unchanged(request, snapshot) -> bool:
    return [(e.pk, e.from_state, e.to_state, e.action, e.at, e.actor_id, e.role, e.comment)
            for e in events_of(request.pk)] == snapshot


def test_saving_an_existing_event_is_refused(logged_request):
    request, snapshot = logged_request
    event = events_of(request.pk)[-1]
    event.comment = "réécrit"
    with pytest.raises(EventLogImmutable):
        event.save()
    with pytest.raises(EventLogImmutable):
        event.save(update_fields=["comment"])
    assert _unchanged(request, snapshot)


def test_deleting_an_event_is_refused(logged_request):
    request, snapshot = logged_request
    with pytest.raises(EventLogImmutable):
        events_of(request.pk)[-1].delete()
    assert _unchanged(request, snapshot)


def test_queryset_update_of_events_is_refused(logged_request):
    request, snapshot = logged_request
    with pytest.raises(EventLogImmutable):
        Event.objects.filter(request=request).update(comment="réécrit")
    with pytest.raises(EventLogImmutable):
        Event.objects.update(to_state="delivered")
    assert _unchanged(request, snapshot)


def test_queryset_delete_of_events_is_refused(logged_request):
    request, snapshot = logged_request
    with pytest.raises(EventLogImmutable):
        Event.objects.filter(request=request).delete()
    with pytest.raises(EventLogImmutable):
        Event.objects.all().delete()
    assert _unchanged(request, snapshot)


def test_bulk_update_of_events_is_refused(logged_request):
    request, snapshot = logged_request
    events = events_of(request.pk)
    for event in events:
        event.comment = "réécrit"
    with pytest.raises(EventLogImmutable):
        Event.objects.bulk_update(events, ["comment"])
    with pytest.raises(EventLogImmutable):
        Event.objects.filter(request=request).bulk_update(events, ["comment"])
    assert _unchanged(request, snapshot)


def test_new_instance_reusing_an_event_id_cannot_overwrite_it(logged_request):
    request, snapshot = logged_request
    existing = events_of(request.pk)[-1]
    forged = Event(pk=existing.pk, request=request, from_state="draft", to_state="delivered", action="forged",
                   at=existing.at, role="system")
    # The ORM guard only sees a new instance; the database trigger must still refuse the UPDATE.
    with pytest.raises((EventLogImmutable, IntegrityError)), transaction.atomic():
        forged.save()
    assert _unchanged(request, snapshot)


# --- the database refuses it too --------------------------------------------------------------
def _raw_sql_is_refused(sql: str, params) -> None:
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    assert "append-only" in str(excinfo.value)
    if connection.vendor == "postgresql":
        assert excinfo.value.__cause__.pgcode == "23000"  # integrity_constraint_violation


def test_raw_sql_update_of_an_event_is_refused_by_the_database(logged_request):
    request, snapshot = logged_request
    _raw_sql_is_refused("UPDATE access_requests_event SET comment = %s WHERE request_id = %s",
                        ["réécrit", request.pk])
    _raw_sql_is_refused("UPDATE access_requests_event SET to_state = %s", ["delivered"])
    assert _unchanged(request, snapshot)


def test_raw_sql_delete_of_an_event_is_refused_by_the_database(logged_request):
    request, snapshot = logged_request
    _raw_sql_is_refused("DELETE FROM access_requests_event WHERE id = %s", [snapshot[-1][0]])
    _raw_sql_is_refused("DELETE FROM access_requests_event WHERE request_id = %s", [request.pk])
    assert _unchanged(request, snapshot)


def test_truncating_the_event_log_is_refused_by_the_database(logged_request):
    request, snapshot = logged_request
    if connection.vendor == "postgresql":  # a statement trigger (migration 0007)
        with connection.cursor() as cursor:  # the test's own inserts: check their foreign keys now
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _raw_sql_is_refused("TRUNCATE access_requests_event", [])
    else:  # SQLite has no TRUNCATE: its whole-table DELETE is refused by the row trigger
        _raw_sql_is_refused("DELETE FROM access_requests_event", [])
    assert _unchanged(request, snapshot)


def test_only_the_explicit_transaction_setting_lets_a_truncate_through(logged_request):
    """The escape hatch the test suite's flush uses must be set on purpose, in the transaction."""
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (run the suite with DATABASE_URL=postgres://...)")
    request, snapshot = logged_request
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hdh.event_log_truncate', true)")
        assert cursor.fetchone()[0] in (None, "")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL hdh.event_log_truncate = 'allowed'")
        cursor.execute("TRUNCATE access_requests_event")
        cursor.execute("SELECT count(*) FROM access_requests_event")
        assert cursor.fetchone()[0] == 0
        transaction.set_rollback(True)  # keep the log: only the trigger's behaviour was under test
    assert _unchanged(request, snapshot)


def test_raw_sql_insert_of_an_event_is_still_allowed(logged_request):
    request, snapshot = logged_request
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO access_requests_event (request_id, from_state, to_state, action, at, role, comment, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [request.pk, "cesrees_review", "cesrees_review", "note", snapshot[-1][4], "system", "", "{}"],
        )
    assert len(events_of(request.pk)) == len(snapshot) + 1


def test_deleting_a_request_that_has_events_is_refused(logged_request):
    request, snapshot = logged_request
    with pytest.raises(ProtectedError):
        AccessRequest.objects.get(pk=request.pk).delete()
    with pytest.raises(ProtectedError):
        AccessRequest.objects.filter(pk=request.pk).delete()
    assert AccessRequest.objects.filter(pk=request.pk).exists()
    assert _unchanged(request, snapshot)


def test_deleting_a_user_who_acted_is_refused(logged_request, personas):
    request, snapshot = logged_request
    with pytest.raises(ProtectedError):
        personas["secretariat"].delete()
    assert _unchanged(request, snapshot)


# --- the state is only changed by transitions -------------------------------------------------
def test_state_field_cannot_be_assigned_directly(make_request):
    request = AccessRequest.objects.get(pk=make_request("submitted").pk)
    with pytest.raises(AttributeError):
        request.state = "delivered"
    assert request.state == "submitted"
    assert AccessRequest.objects.get(pk=request.pk).state == "submitted"


def test_models_and_migrations_are_in_sync(db):
    # Equivalent of `manage.py makemigrations --check --dry-run`: SystemExit(1) if a migration is missing.
    try:
        call_command("makemigrations", check=True, dry_run=True, verbosity=0)
    except SystemExit as exc:  # pragma: no cover - only on failure
        pytest.fail(f"makemigrations --check exited with {exc.code}: a migration is missing")


def test_an_assignment_is_an_event_that_changes_no_state_and_no_clock(make_request, personas, django_capture_on_commit_callbacks):
    from delays.materialise import materialise_requests
    from delays.models import RequestDelay
    from portal.selectors import history

    request = make_request("submitted")
    materialise_requests([request.pk])
    delay_before = RequestDelay.objects.filter(request_id=request.pk).values_list("current_due_date", flat=True).first()
    with django_capture_on_commit_callbacks(execute=True):
        services.assign(request_id=request.pk, actor=personas["secretariat"], assignee=personas["secretariat"])
    event = events_of(request.pk)[-1]
    assert (event.action, event.from_state, event.to_state, event.role) == ("assign", "submitted", "submitted",
                                                                              "secretariat")
    assert event.payload == {"assignee": personas["secretariat"].pk, "previous": None}
    assert RequestDelay.objects.get(request_id=request.pk).current_due_date == delay_before
    # Assigning the same person again writes nothing; the applicant's history never shows it.
    services.assign(request_id=request.pk, actor=personas["secretariat"], assignee=personas["secretariat"])
    assert events_of(request.pk)[-1].pk == event.pk
    assert all("assign" not in row.label.lower() and "attribu" not in row.label.lower()
               for row in history(AccessRequest.objects.get(pk=request.pk)))
    assert [row.label for row in history(AccessRequest.objects.get(pk=request.pk))]
