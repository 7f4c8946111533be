"""One task per data holder after the decision: opening, each transition allowed and forbidden per
role, the request following its least advanced task, delivery once every task is delivered, due
dates and assignees, the append-only task log, the history import and the data migration."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import IntegrityError, connection, transaction

from access_requests import services
from access_requests.exceptions import ActionNotPermitted, EventLogImmutable, IllegalTransition, InvalidInput
from access_requests.history_import import import_history
from access_requests.models import AccessRequest, Event, HolderTask, HolderTaskEvent
from access_requests.workflow import (
    HolderTaskState,
    Role,
    State,
    available_task_actions,
    request_moves,
    request_state_of_tasks,
    task_steps,
)
from catalog.models import DataHolder
from hdh_access.lib.dates import paris_date
from tests.conftest import make_user, paris

THREE = ("snds", "pmsi", "uroccr")  # CNAM, ATIH, CHU de Bordeaux


@pytest.fixture
def atih(db):
    return make_user("atih@atih.example", role=Role.DATA_HOLDER, data_holder=DataHolder.objects.get(code="atih"))


@pytest.fixture
def bordeaux(db):
    return make_user("chu@chu-bordeaux.example", role=Role.DATA_HOLDER,
                     data_holder=DataHolder.objects.get(code="chu-bordeaux"))


@pytest.fixture
def everyone(personas, atih, bordeaux):
    return {**personas, "atih": atih, "bordeaux": bordeaux}


def tasks_of(request) -> dict[str, HolderTask]:
    return {t.holder.code: t for t in HolderTask.objects.filter(request_id=request.pk).select_related("holder")}


def state_of(request) -> str:
    return AccessRequest.objects.get(pk=request.pk).state


def request_events(request) -> list[Event]:
    return list(Event.objects.filter(request_id=request.pk).order_by("at", "id"))


def task_events(task) -> list[HolderTaskEvent]:
    return list(HolderTaskEvent.objects.filter(task_id=task.pk).order_by("at", "id"))


# --- pure rules -------------------------------------------------------------------------------
def test_the_request_state_is_its_least_advanced_tasks():
    assert request_state_of_tasks(["extraction", "matching", "delivered"]) == "matching"
    assert request_state_of_tasks(["delivered", "delivered"]) == "delivered"
    assert request_state_of_tasks(["delivered", "contracting"]) == "contracting"
    assert request_state_of_tasks([]) is None


def test_request_moves_are_the_request_transitions_between_two_post_decision_states():
    assert request_moves("contracting", "extraction", requires_matching=True) == ["start_matching", "start_extraction"]
    assert request_moves("contracting", "extraction", requires_matching=False) == ["start_extraction"]
    assert request_moves("matching", "delivered", requires_matching=True) == ["start_extraction", "deliver"]
    assert request_moves("extraction", "extraction", requires_matching=True) == []
    assert request_moves("extraction", "matching", requires_matching=True) == []  # never backwards
    assert request_moves("awaiting_applicant", "matching", requires_matching=True) == []


def test_a_task_history_opens_at_the_first_contracting_and_ignores_pauses_and_endings():
    rows = [("submitted", 1), ("cnil_review", 2), ("contracting", 3), ("awaiting_applicant", 4), ("contracting", 5),
            ("matching", 6), ("awaiting_applicant", 7), ("matching", 8), ("extraction", 9), ("delivered", 10),
            ("closed", 11)]
    assert task_steps(rows) == [("", "contracting", 3), ("contracting", "matching", 6),
                                ("matching", "extraction", 9), ("extraction", "delivered", 10)]
    assert task_steps([("submitted", 1), ("withdrawn", 2)]) == []
    assert task_steps([("contracting", 1), ("extraction", 2), ("withdrawn", 3)]) == [
        ("", "contracting", 1), ("contracting", "extraction", 2)]


@pytest.mark.parametrize(("state", "roles", "matching", "expected"), [
    ("contracting", {Role.SECRETARIAT}, True, ["record_contract_signed"]),
    ("contracting", {Role.SECRETARIAT}, False, []),
    ("contracting", {Role.DATA_HOLDER}, False, ["record_contract_signed"]),
    ("matching", {Role.DATA_HOLDER}, True, ["record_matching_done"]),
    ("extraction", {Role.PLATFORM}, True, ["deliver"]),
    ("delivered", {Role.DATA_HOLDER, Role.PLATFORM, Role.SECRETARIAT}, True, []),
])
def test_available_task_actions_follow_the_roles_and_the_state(state, roles, matching, expected):
    assert available_task_actions(state, roles, requires_matching=matching) == expected


# --- opening --------------------------------------------------------------------------------------
def test_the_cnil_authorisation_opens_one_task_per_holder_due_after_the_default_days(make_request, personas,
                                                                                    settings):
    settings.HDH_HOLDER_DEFAULT_DAYS = 200
    DataHolder.objects.filter(code="atih").update(median_delivery_days=90)
    with time_machine.travel(paris(2026, 3, 2, 23, 30), tick=False):
        request = make_request("contracting", codes=THREE, other_holders="open")
    tasks = tasks_of(request)
    assert set(tasks) == {"cnam", "atih", "chu-bordeaux"}
    opening = request_events(request)[-1]
    assert opening.action == "authorise"
    for code, task in tasks.items():
        assert (task.state, task.requires_matching) == ("contracting", True)
        assert task.entered_at == task.created_at == opening.at
        days = 90 if code == "atih" else 200
        assert task.due_date == dt.date(2026, 3, 2) + dt.timedelta(days=days)  # the Paris date, 23:30
        (event,) = task_events(task)
        assert (event.from_state, event.to_state, event.action) == ("", "contracting", "authorise")
        assert (event.actor_id, event.role, event.at) == (personas["cnil"].pk, "cnil", opening.at)


def test_approval_without_review_opens_the_tasks_too(make_request, personas):
    request = make_request("submitted", codes=("snds",), route="reference_methodology")
    assert not HolderTask.objects.filter(request_id=request.pk).exists()
    services.approve_without_review(request_id=request.pk, actor=personas["secretariat"])
    (task,) = tasks_of(request).values()
    assert (task.holder.code, task.state, task.requires_matching) == ("cnam", "contracting", False)
    assert task_events(task)[0].action == "approve_without_review"


def test_a_resumption_to_contracting_opens_no_second_task(make_request, personas):
    request = make_request("contracting", codes=THREE, other_holders="open")
    services.request_information(request_id=request.pk, actor=personas["secretariat"], question="Signataire ?")
    services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="La directrice.")
    assert state_of(request) == "contracting"
    assert HolderTask.objects.filter(request_id=request.pk).count() == 3
    assert HolderTaskEvent.objects.filter(task__request_id=request.pk).count() == 3


# --- every task transition, allowed and forbidden, per role -----------------------------------------
TASK_CASES = {
    # name: (task state to reach, request datasets, service, allowed personas, role of each)
    "contract_signed(matching)": ("contracting", THREE, services.record_task_contract_signed,
                                  {"cnam", "secretariat", "superuser"}),
    "contract_signed(extraction)": ("contracting", ("snds",), services.record_task_contract_signed,
                                    {"cnam", "superuser"}),
    "matching_done": ("matching", THREE, services.record_task_matching_done, {"cnam", "superuser"}),
    "deliver": ("extraction", THREE, services.deliver_task, {"cnam", "platform", "superuser"}),
}
PERSONAS = ("applicant", "colleague", "outsider", "secretariat", "cesrees", "cnil", "cnam", "curie", "atih",
            "platform", "management", "superuser")
ROLE_OF = {"cnam": "data_holder", "secretariat": "secretariat", "platform": "platform", "superuser": "administrator"}


def _cnam_task_in(make_request, state: str, codes) -> HolderTask:
    """The CNAM's task of a request for ``codes``, walked by the system to ``state``."""
    request = make_request("contracting", codes=codes, other_holders="open")
    task = tasks_of(request)["cnam"]
    for action in ("record_contract_signed", "record_matching_done"):
        if HolderTask.objects.get(pk=task.pk).state == state:
            break
        if action == "record_matching_done" and not task.requires_matching:
            continue
        services.act_on_task(task_id=task.pk, actor=None, action=action)
    task = HolderTask.objects.get(pk=task.pk)
    assert task.state == state
    return task


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", list(TASK_CASES))
def test_each_task_transition_is_taken_by_its_roles_only(make_request, everyone, case, persona):
    state, codes, service, allowed = TASK_CASES[case]
    task = _cnam_task_in(make_request, state, codes)
    before = task_events(task)
    user = everyone[persona]
    if persona in allowed:
        moved = service(task_id=task.pk, actor=user)
        assert moved.state != state
        new = task_events(task)[len(before):]
        assert [(e.from_state, e.to_state, e.actor_id, e.role) for e in new] == [
            (state, moved.state, user.pk, ROLE_OF[persona])]
        assert moved.entered_at == new[0].at
    else:
        with pytest.raises(ActionNotPermitted):
            service(task_id=task.pk, actor=user)
        assert task_events(task) == before
        assert HolderTask.objects.get(pk=task.pk).state == state


@pytest.mark.parametrize(("state", "service"), [
    ("contracting", services.record_task_matching_done),
    ("contracting", services.deliver_task),
    ("matching", services.record_task_contract_signed),
    ("matching", services.deliver_task),
    ("extraction", services.record_task_matching_done),
    ("extraction", services.record_task_contract_signed),
])
def test_a_task_transition_from_the_wrong_state_is_illegal_even_for_its_holder(make_request, personas, state,
                                                                              service):
    task = _cnam_task_in(make_request, state, THREE)
    before = task_events(task)
    with pytest.raises(IllegalTransition):
        service(task_id=task.pk, actor=personas["cnam"])
    assert task_events(task) == before


def test_a_delivered_task_moves_no_more(make_request, personas):
    task = _cnam_task_in(make_request, "extraction", ("snds",))
    services.deliver_task(task_id=task.pk, actor=personas["cnam"])
    for service in (services.record_task_contract_signed, services.record_task_matching_done, services.deliver_task):
        with pytest.raises(IllegalTransition):
            service(task_id=task.pk, actor=personas["cnam"])


def test_the_state_the_holder_saw_is_checked(make_request, personas):
    from access_requests.exceptions import ConcurrentUpdate

    task = _cnam_task_in(make_request, "matching", THREE)
    with pytest.raises(ConcurrentUpdate):
        services.record_task_matching_done(task_id=task.pk, actor=personas["cnam"], expected_state="contracting")
    assert HolderTask.objects.get(pk=task.pk).state == "matching"


@pytest.mark.parametrize("how", ["paused", "withdrawn"])
def test_tasks_do_not_move_while_the_request_waits_on_the_applicant_or_has_ended(make_request, personas, how):
    request = make_request("contracting", codes=THREE, other_holders="open")
    if how == "paused":
        services.request_information(request_id=request.pk, actor=personas["cnam"], question="Signataire ?")
    else:
        services.withdraw(request_id=request.pk, actor=personas["applicant"], reason="Abandon")
    task = tasks_of(request)["cnam"]
    with pytest.raises(IllegalTransition):
        services.record_task_contract_signed(task_id=task.pk, actor=personas["cnam"])
    with pytest.raises(IllegalTransition):
        services.record_contract_signed(request_id=request.pk, actor=personas["cnam"])
    assert HolderTask.objects.get(pk=task.pk).state == "contracting"


# --- the request follows its least advanced task -----------------------------------------------------
def test_the_request_follows_its_least_advanced_task_and_is_delivered_with_the_last(make_request, everyone):
    request = make_request("contracting", codes=THREE, other_holders="open")
    tasks = tasks_of(request)
    start = len(request_events(request))

    def do(service, code, who):
        service(task_id=tasks[code].pk, actor=everyone[who])
        return state_of(request)

    assert do(services.record_task_contract_signed, "cnam", "cnam") == "contracting"
    assert do(services.record_task_matching_done, "cnam", "cnam") == "contracting"  # the CNAM runs ahead
    assert do(services.record_task_contract_signed, "atih", "atih") == "contracting"
    assert len(request_events(request)) == start
    assert do(services.record_task_contract_signed, "chu-bordeaux", "bordeaux") == "matching"
    (moved,) = request_events(request)[start:]
    chu_event = task_events(tasks["chu-bordeaux"])[-1]
    assert (moved.action, moved.from_state, moved.to_state) == ("start_matching", "contracting", "matching")
    assert (moved.actor_id, moved.role, moved.at) == (everyone["bordeaux"].pk, "data_holder", chu_event.at)

    assert do(services.record_task_matching_done, "atih", "atih") == "matching"
    assert do(services.record_task_matching_done, "chu-bordeaux", "bordeaux") == "extraction"
    assert do(services.deliver_task, "cnam", "cnam") == "extraction"
    assert do(services.deliver_task, "atih", "platform") == "extraction"
    assert do(services.deliver_task, "chu-bordeaux", "bordeaux") == "delivered"
    assert [e.action for e in request_events(request)[start:]] == ["start_matching", "start_extraction", "deliver"]
    delivered = tasks_of(request)
    assert all(t.state == "delivered" and t.delivered_at == t.entered_at for t in delivered.values())
    assert request_events(request)[-1].at == delivered["chu-bordeaux"].delivered_at


def test_the_request_jumps_every_state_its_least_advanced_task_passed(make_request, personas):
    """A request behind its only task (as after an import) catches up in one go, each move logged."""
    request = make_request("contracting", codes=("snds", "oscour"), other_holders="open")
    tasks = tasks_of(request)
    services.act_on_task(task_id=tasks["spf"].pk, actor=None, action="record_contract_signed")
    services.act_on_task(task_id=tasks["spf"].pk, actor=None, action="record_matching_done")
    start = len(request_events(request))
    services.record_task_contract_signed(task_id=tasks["cnam"].pk, actor=personas["cnam"])
    services.record_task_matching_done(task_id=tasks["cnam"].pk, actor=personas["cnam"])
    assert [e.action for e in request_events(request)[start:]] == ["start_matching", "start_extraction"]


def test_a_holders_staff_request_level_action_moves_its_own_task_only(make_request, everyone):
    request = make_request("contracting", codes=THREE, other_holders="open")
    services.record_contract_signed(request_id=request.pk, actor=everyone["atih"])
    states = {code: t.state for code, t in tasks_of(request).items()}
    assert states == {"cnam": "contracting", "atih": "matching", "chu-bordeaux": "contracting"}
    assert state_of(request) == "contracting"


def test_the_secretariats_contract_signed_moves_every_task_and_the_platform_delivers_every_task(make_request,
                                                                                                 everyone):
    request = make_request("contracting", codes=THREE, other_holders="open")
    services.record_contract_signed(request_id=request.pk, actor=everyone["secretariat"])
    assert {t.state for t in tasks_of(request).values()} == {"matching"}
    assert state_of(request) == "matching"
    for who in ("cnam", "atih"):
        services.record_matching_done(request_id=request.pk, actor=everyone[who])
    services.deliver(request_id=request.pk, actor=everyone["platform"])  # the CHU's task is still matching
    states = {code: t.state for code, t in tasks_of(request).items()}
    assert states == {"cnam": "delivered", "atih": "delivered", "chu-bordeaux": "matching"}
    assert state_of(request) == "matching"
    with pytest.raises(IllegalTransition):  # nothing left in extraction
        services.deliver(request_id=request.pk, actor=everyone["platform"])
    services.record_matching_done(request_id=request.pk, actor=everyone["bordeaux"])
    assert state_of(request) == "extraction"
    services.deliver(request_id=request.pk, actor=everyone["platform"])
    assert state_of(request) == "delivered"
    services.close(request_id=request.pk, actor=everyone["platform"])
    assert state_of(request) == "closed"


def test_a_holder_not_concerned_may_not_act_through_the_request(make_request, everyone):
    request = make_request("contracting", codes=("snds", "pmsi"), other_holders="open")
    with pytest.raises(ActionNotPermitted):
        services.record_contract_signed(request_id=request.pk, actor=everyone["bordeaux"])
    assert {t.state for t in tasks_of(request).values()} == {"contracting"}


# --- due dates and assignees ------------------------------------------------------------------------
def test_a_reviewer_sets_a_tasks_due_date_and_the_log_keeps_the_previous(make_request, everyone):
    request = make_request("contracting", codes=THREE, other_holders="open")
    task = tasks_of(request)["atih"]
    previous = task.due_date
    services.set_task_due_date(task_id=task.pk, actor=everyone["atih"], due_date=dt.date(2030, 1, 15),
                               comment="Convention type de l'ATIH")
    assert HolderTask.objects.get(pk=task.pk).due_date == dt.date(2030, 1, 15)
    event = task_events(task)[-1]
    assert (event.action, event.from_state, event.to_state, event.role) == (
        "set_due_date", "contracting", "contracting", "data_holder")
    assert event.payload == {"due_date": "2030-01-15", "previous": previous.isoformat()}
    services.set_task_due_date(task_id=task.pk, actor=everyone["secretariat"], due_date=dt.date(2030, 2, 1))
    assert HolderTask.objects.get(pk=task.pk).due_date == dt.date(2030, 2, 1)


@pytest.mark.parametrize("persona", ["cnam", "curie", "cesrees", "cnil", "applicant", "management"])
def test_only_the_holders_staff_the_secretariat_and_the_platform_set_a_due_date(make_request, everyone, persona):
    request = make_request("contracting", codes=THREE, other_holders="open")
    task = tasks_of(request)["atih"]
    with pytest.raises(ActionNotPermitted):
        services.set_task_due_date(task_id=task.pk, actor=everyone[persona], due_date=dt.date(2030, 1, 15))
    assert len(task_events(task)) == 1


def test_a_delivered_tasks_due_date_is_kept(make_request, personas):
    task = _cnam_task_in(make_request, "extraction", ("snds",))
    services.deliver_task(task_id=task.pk, actor=personas["cnam"])
    with pytest.raises(InvalidInput):
        services.set_task_due_date(task_id=task.pk, actor=personas["cnam"], due_date=dt.date(2030, 1, 15))


def test_a_task_is_assigned_to_its_holders_staff_not_to_another_holders(make_request, everyone):
    request = make_request("contracting", codes=THREE, other_holders="open")
    task = tasks_of(request)["cnam"]
    services.assign_task(task_id=task.pk, actor=everyone["cnam"], assignee=everyone["cnam"])
    assert HolderTask.objects.get(pk=task.pk).assignee_id == everyone["cnam"].pk
    assert task_events(task)[-1].payload == {"assignee": everyone["cnam"].pk, "previous": None}
    with pytest.raises(InvalidInput):
        services.assign_task(task_id=task.pk, actor=everyone["cnam"], assignee=everyone["atih"])
    with pytest.raises(ActionNotPermitted):
        services.assign_task(task_id=task.pk, actor=everyone["atih"], assignee=everyone["atih"])


# --- the task log is append-only ---------------------------------------------------------------------
def test_the_task_log_refuses_changes_in_the_orm(make_request):
    request = make_request("contracting", codes=THREE, other_holders="open")
    event = HolderTaskEvent.objects.filter(task__request_id=request.pk).first()
    with pytest.raises(EventLogImmutable):
        HolderTaskEvent.objects.filter(pk=event.pk).update(comment="changed")
    with pytest.raises(EventLogImmutable):
        HolderTaskEvent.objects.filter(pk=event.pk).delete()
    event.comment = "changed"
    with pytest.raises(EventLogImmutable):
        event.save()
    with pytest.raises(EventLogImmutable):
        event.delete()


@pytest.mark.postgres
@pytest.mark.parametrize("sql", [
    "UPDATE access_requests_holdertaskevent SET comment = 'x'",
    "DELETE FROM access_requests_holdertaskevent",
    "TRUNCATE access_requests_holdertaskevent CASCADE",
])
def test_the_database_refuses_to_change_the_task_log(make_request, sql):
    make_request("contracting", codes=THREE, other_holders="open")
    with connection.cursor() as cursor:  # the test's own inserts: check their foreign keys now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert HolderTaskEvent.objects.count() == 3


# --- the history import ------------------------------------------------------------------------------
HEADER = "reference,at,state,datasets,requires_matching,title"
IMPORTED = [
    HEADER,
    "T-1,2024-01-02T09:00:00Z,submitted,snds;pmsi;uroccr,,Trois détenteurs",
    "T-1,2024-01-10T09:00:00Z,cesrees_review,,,",
    "T-1,2024-02-10T09:00:00Z,cnil_review,,,",
    "T-1,2024-04-10T09:00:00Z,contracting,,,",
    "T-1,2024-05-10T09:00:00Z,awaiting_applicant,,,",
    "T-1,2024-05-20T09:00:00Z,contracting,,,",
    "T-1,2024-07-10T09:00:00Z,matching,,,",
]


def _import(tmp_path, lines, name="history.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return import_history(path)


def test_the_import_opens_one_task_per_holder_and_follows_the_history(db, tmp_path, settings):
    settings.HDH_HOLDER_DEFAULT_DAYS = 100
    _import(tmp_path, IMPORTED)
    request = AccessRequest.objects.get(reference="T-1")
    tasks = tasks_of(request)
    assert set(tasks) == {"cnam", "atih", "chu-bordeaux"}
    opened = dt.datetime(2024, 4, 10, 9, tzinfo=dt.UTC)
    for task in tasks.values():
        assert (task.state, task.requires_matching, task.created_at) == ("matching", True, opened)
        assert task.entered_at == dt.datetime(2024, 7, 10, 9, tzinfo=dt.UTC)
        assert task.due_date == paris_date(opened) + dt.timedelta(days=100)
        assert [(e.from_state, e.to_state, e.action, e.role) for e in task_events(task)] == [
            ("", "contracting", "import", "system"), ("contracting", "matching", "start_matching", "system")]

    # The same file again changes nothing; a longer one moves the tasks on.
    _import(tmp_path, IMPORTED)
    assert HolderTaskEvent.objects.count() == 6
    _import(tmp_path, [*IMPORTED, "T-1,2024-10-10T09:00:00Z,extraction,,,", "T-1,2024-12-10T09:00:00Z,delivered,,,"],
            name="longer.csv")
    for task in tasks_of(request).values():
        assert task.state == "delivered"
        assert task.delivered_at == task.entered_at == dt.datetime(2024, 12, 10, 9, tzinfo=dt.UTC)
        assert [e.action for e in task_events(task)] == ["import", "start_matching", "start_extraction", "deliver"]


def test_an_imported_history_before_the_decision_has_no_task(db, tmp_path):
    _import(tmp_path, IMPORTED[:4])
    assert not HolderTask.objects.exists()


# --- the data migration -----------------------------------------------------------------------------
@pytest.fixture
def without_task_opening(monkeypatch):
    """Requests made as before holder tasks existed: the services open none."""
    from access_requests.services import core

    monkeypatch.setattr(core, "open_tasks", lambda *args, **kwargs: [])


def test_the_migration_gives_existing_requests_one_task_per_holder(make_request, personas, without_task_opening,
                                                                   settings):
    settings.HDH_HOLDER_DEFAULT_DAYS = 180
    closed = make_request("closed", codes=THREE, other_holders="open")
    in_matching = make_request("matching", codes=THREE, other_holders="open")
    withdrawn = make_request("extraction", codes=("snds",), other_holders="open")
    services.withdraw(request_id=withdrawn.pk, actor=personas["applicant"], reason="Abandon")
    before = make_request("cnil_review", codes=THREE)
    rejected = make_request("rejected", codes=THREE)
    assert not HolderTask.objects.exists()

    migration = importlib.import_module("access_requests.migrations.0014_holder_tasks_for_existing_requests")
    migration.forward(django_apps, None)

    assert not HolderTask.objects.filter(request_id__in=[before.pk, rejected.pk]).exists()
    events = {e.to_state: e for e in request_events(closed)}
    tasks = tasks_of(closed)
    assert set(tasks) == {"cnam", "atih", "chu-bordeaux"}
    for task in tasks.values():
        assert (task.state, task.requires_matching) == ("delivered", True)
        assert task.created_at == events["contracting"].at
        assert task.entered_at == task.delivered_at == events["delivered"].at
        assert task.due_date == paris_date(events["contracting"].at) + dt.timedelta(days=180)
        log = task_events(task)
        assert [(e.from_state, e.to_state, e.action) for e in log] == [
            ("", "contracting", "authorise"), ("contracting", "matching", "start_matching"),
            ("matching", "extraction", "start_extraction"), ("extraction", "delivered", "deliver")]
        assert [(e.actor_id, e.role, e.at) for e in log] == [
            (events[e.to_state].actor_id, events[e.to_state].role, events[e.to_state].at) for e in log]
    assert {t.state for t in tasks_of(in_matching).values()} == {"matching"}
    (task,) = tasks_of(withdrawn).values()
    assert (task.state, task.delivered_at) == ("extraction", None)

    # Once is enough: a second run adds nothing.
    count = HolderTaskEvent.objects.count()
    migration.forward(django_apps, None)
    assert HolderTaskEvent.objects.count() == count
    assert HolderTask.objects.filter(request_id=closed.pk).count() == 3
    assert state_of(closed) == State.CLOSED and HolderTaskState.DELIVERED == "delivered"
