"""The back office of holder tasks: a data holder's queue lists its own open tasks by due date; a
request's page shows every task with the actions each user may take on each; posting an action, a
due date or an assignee on another holder's task is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services
from access_requests.models import AccessRequest, HolderTask, HolderTaskEvent
from access_requests.workflow import Role, State
from catalog.models import DataHolder
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)
from tests.conftest import make_user, with_form_token

QUEUE = reverse("backoffice:queue")
THREE = ("snds", "pmsi", "uroccr")  # CNAM, ATIH, CHU de Bordeaux


@pytest.fixture
def atih(db):
    return make_user("atih@atih.example", role=Role.DATA_HOLDER, data_holder=DataHolder.objects.get(code="atih"))


def task(request, code: str) -> HolderTask:
    return HolderTask.objects.get(request_id=request.pk, holder__code=code)


def detail_url(request) -> str:
    return reverse("backoffice:detail", args=[request.reference])


def task_url(request, code: str, action: str) -> str:
    return reverse("backoffice:task_act", args=[request.reference, task(request, code).pk, action])


@pytest.fixture
def three(make_request):
    """A request for the CNAM, the ATIH and the CHU de Bordeaux, in contracting."""
    return make_request(State.CONTRACTING, codes=THREE, other_holders="open")


# --- a data holder's queue ---------------------------------------------------------------------
def test_a_data_holder_queues_its_own_open_tasks_by_due_date(client, personas, make_request, atih):
    early = make_request(State.CONTRACTING, codes=THREE, other_holders="open")
    late = make_request(State.CONTRACTING, codes=("snds", "pmsi"), other_holders="open")
    no_due = make_request(State.CONTRACTING, codes=("snds",), other_holders="open")
    cnam_only = make_request(State.CONTRACTING, codes=("snds",), other_holders="open")
    HolderTask.objects.filter(pk=task(early, "cnam").pk).update(due_date=dt.date(2020, 1, 10))  # long overdue
    services.set_task_due_date(task_id=task(late, "cnam").pk, actor=personas["cnam"], due_date=dt.date(2099, 1, 10))
    HolderTask.objects.filter(pk=task(no_due, "cnam").pk).update(due_date=None)
    # Neither a delivered task nor the task of an ended request is listed.
    cnam_task = task(cnam_only, "cnam")
    services.record_task_contract_signed(task_id=cnam_task.pk, actor=personas["cnam"])
    services.deliver_task(task_id=cnam_task.pk, actor=personas["cnam"])
    withdrawn = make_request(State.CONTRACTING, codes=("snds", "pmsi"), other_holders="open")
    services.withdraw(request_id=withdrawn.pk, actor=personas["applicant"], reason="Abandon")
    materialise_all()

    client.force_login(personas["cnam"])
    response = client.get(QUEUE)
    rows = response.context["rows"]
    assert [row["request"].reference for row in rows] == [early.reference, late.reference, no_due.reference]
    assert all(row["task"].holder.code == "cnam" for row in rows)
    assert [row["badge"] for row in rows] == ["overdue", "on_time", "no_clock"]
    html = response.content.decode()
    assert 'id="task-queue"' in html and "Échéance dépassée" in html and "10/01/2020" in html

    client.force_login(atih)
    rows = client.get(QUEUE).context["rows"]
    # The same default due date: the task waiting longest first.
    assert [(row["request"].reference, row["task"].holder.code) for row in rows] == [
        (early.reference, "atih"), (late.reference, "atih")]


def test_a_holders_queue_follows_its_task_not_the_request(client, personas, three, atih):
    services.record_task_contract_signed(task_id=task(three, "atih").pk, actor=atih)
    materialise_all()
    client.force_login(atih)
    (row,) = client.get(QUEUE).context["rows"]
    assert (row["task"].state, row["request"].state) == ("matching", "contracting")
    assert "Appariement" in client.get(QUEUE).content.decode()


def test_other_roles_keep_their_request_queues(client, personas, three):
    materialise_all()
    client.force_login(personas["secretariat"])
    response = client.get(QUEUE)
    assert not response.context.get("task_queue")
    assert [row["request"].reference for row in response.context["rows"]] == [three.reference]
    assert "task" not in response.context["rows"][0]


def test_a_holder_without_a_task_sees_an_empty_queue(client, personas, three):
    materialise_all()
    client.force_login(personas["curie"])
    response = client.get(QUEUE)
    assert response.status_code == 200 and response.context["rows"] == []


def test_a_holders_other_scopes_still_list_requests(client, personas, three):
    materialise_all()
    client.force_login(personas["cnam"])
    response = client.get(QUEUE, {"scope": "all"})
    assert [row["request"].reference for row in response.context["rows"]] == [three.reference]
    assert "task" not in response.context["rows"][0]


def test_the_holders_queue_runs_the_same_number_of_queries_for_few_or_many_tasks(client, personas, make_request,
                                                                                 django_assert_num_queries):
    for _ in range(2):
        request = make_request(State.CONTRACTING, codes=THREE, other_holders="open")
    # One task assigned already: the assignees are read in one query, whether one or many.
    services.assign_task(task_id=task(request, "cnam").pk, actor=personas["cnam"], assignee=personas["cnam"])
    materialise_all()
    client.force_login(personas["cnam"])
    client.get(QUEUE)  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE).status_code == 200
    for codes in (THREE, ("snds",), ("snds", "oscour"), THREE):
        request = make_request(State.CONTRACTING, codes=codes, other_holders="open")
        services.assign_task(task_id=task(request, "cnam").pk, actor=personas["cnam"], assignee=personas["cnam"])
    materialise_all()
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(QUEUE)
    assert len(response.context["rows"]) == 6


def test_the_holders_queue_filters_by_task_state_and_assignee(client, personas, make_request):
    signed = make_request(State.CONTRACTING, codes=THREE, other_holders="open")
    waiting = make_request(State.CONTRACTING, codes=THREE, other_holders="open")
    services.record_task_contract_signed(task_id=task(signed, "cnam").pk, actor=personas["cnam"])
    services.assign_task(task_id=task(waiting, "cnam").pk, actor=personas["cnam"], assignee=personas["cnam"])
    materialise_all()
    client.force_login(personas["cnam"])

    def refs(**params):
        return [row["request"].reference for row in client.get(QUEUE, params).context["rows"]]

    assert refs(state="matching") == [signed.reference]
    assert refs(state="contracting") == [waiting.reference]
    assert refs(assignee="me") == [waiting.reference]
    assert refs(assignee="none") == [signed.reference]
    assert refs(sort="reference") == sorted([signed.reference, waiting.reference])


# --- a request's page --------------------------------------------------------------------------
def test_the_page_lists_every_task_and_offers_each_holder_its_own_only(client, personas, three, atih):
    HolderTask.objects.filter(pk=task(three, "chu-bordeaux").pk).update(due_date=dt.date(2020, 2, 3))  # overdue
    client.force_login(personas["cnam"])
    response = client.get(detail_url(three))
    html = response.content.decode()
    assert 'id="tasks"' in html
    for name in ("Caisse nationale de l&#x27;Assurance maladie (CNAM)", "Agence technique de l&#x27;information",
                 "CHU de Bordeaux"):
        assert name in html
    assert "Échéance dépassée" in html  # the CHU's task is overdue
    assert task_url(three, "cnam", "record_contract_signed") in html
    assert task_url(three, "atih", "record_contract_signed") not in html
    assert reverse("backoffice:task_due_date", args=[three.reference, task(three, "cnam").pk]) in html
    assert reverse("backoffice:task_due_date", args=[three.reference, task(three, "atih").pk]) not in html
    # The request-level contract action is not offered beside the tasks'.
    assert reverse("backoffice:act", args=[three.reference, "record_contract_signed"]) not in html

    client.force_login(personas["secretariat"])
    html = client.get(detail_url(three)).content.decode()
    for code in ("cnam", "atih", "chu-bordeaux"):
        assert task_url(three, code, "record_contract_signed") in html

    client.force_login(personas["cesrees"])
    html = client.get(detail_url(three)).content.decode()
    assert 'id="tasks"' in html and "/tasks/" not in html  # reads, never acts


def test_a_holder_not_concerned_does_not_see_the_request(client, personas, three):
    client.force_login(personas["curie"])
    assert client.get(detail_url(three)).status_code == 404


def test_a_holder_signs_its_own_task_and_the_request_waits_for_the_others(client, personas, three):
    client.force_login(personas["cnam"])
    url = task_url(three, "cnam", "record_contract_signed")
    response = client.post(url, with_form_token(client, {"expected_state": "contracting", "comment": "Signée"}))
    assert response.status_code == 303
    assert response["Location"] == detail_url(three) + "#taches"
    assert task(three, "cnam").state == "matching"
    assert AccessRequest.objects.get(pk=three.pk).state == "contracting"
    assert HolderTaskEvent.objects.filter(task=task(three, "cnam")).last().comment == "Signée"


@pytest.mark.parametrize(("who", "status"), [("cnam", 403), ("curie", 404), ("cesrees", 403), ("management", 403),
                                             ("applicant", 403), ("anonymous", 302)])
def test_acting_on_another_holders_task_is_refused_and_writes_nothing(client, personas, three, who, status):
    if who != "anonymous":
        client.force_login(personas[who])
    url = task_url(three, "atih", "record_contract_signed")
    events = HolderTaskEvent.objects.count()
    response = client.post(url, with_form_token(client, {"expected_state": "contracting"}))
    assert response.status_code == status
    assert task(three, "atih").state == "contracting"
    assert HolderTaskEvent.objects.count() == events


def test_a_task_of_another_request_is_not_found(client, personas, three, make_request):
    other = make_request(State.CONTRACTING, codes=("snds",), other_holders="open")
    client.force_login(personas["cnam"])
    url = reverse("backoffice:task_act", args=[three.reference, task(other, "cnam").pk, "record_contract_signed"])
    assert client.post(url, with_form_token(client, {"expected_state": "contracting"})).status_code == 404


def test_a_stale_task_action_says_so(client, personas, three):
    services.record_task_contract_signed(task_id=task(three, "cnam").pk, actor=personas["secretariat"])
    client.force_login(personas["cnam"])
    response = client.post(task_url(three, "cnam", "record_contract_signed"),
                           with_form_token(client, {"expected_state": "contracting"}))
    assert response.status_code == 409
    assert "entre-temps" in response.content.decode()


def test_a_holder_sets_its_tasks_due_date_and_assignee(client, personas, three):
    client.force_login(personas["cnam"])
    cnam = task(three, "cnam")
    url = reverse("backoffice:task_due_date", args=[three.reference, cnam.pk])
    assert client.post(url, with_form_token(client, {"due_date": "2031-05-04"})).status_code == 303
    assert task(three, "cnam").due_date == dt.date(2031, 5, 4)
    bad = client.post(url, with_form_token(client, {"due_date": "demain"}))
    assert bad.status_code == 400 and "Le formulaire contient des erreurs" in bad.content.decode()
    assert f'id="task-{cnam.pk}" open' in bad.content.decode()  # the task's forms are open on the error
    assign = reverse("backoffice:task_assign", args=[three.reference, cnam.pk])
    assert client.post(assign, with_form_token(client, {"assignee": personas["cnam"].pk})).status_code == 303
    assert task(three, "cnam").assignee_id == personas["cnam"].pk
    other = reverse("backoffice:task_due_date", args=[three.reference, task(three, "atih").pk])
    assert client.post(other, with_form_token(client, {"due_date": "2031-05-04"})).status_code == 403
    assert task(three, "atih").due_date != dt.date(2031, 5, 4)


def test_the_holders_page_in_english_has_no_french_left(client, personas, three):
    client.force_login(personas["cnam"])
    html = client.get(detail_url(three), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for french in ("Détenteurs de données", "Agir sur la tâche", "Échéance de la tâche", "Chargé de la tâche"):
        assert french not in html
    assert "Data holders" in html
    html = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "tâche" not in html and "open task" in html
