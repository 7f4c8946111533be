"""The applicant's request page shows one line per data holder: its step, since when, its due date
and its delivery; before the decision, the holders to come, waiting."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from access_requests import services
from access_requests.models import HolderTask
from access_requests.workflow import Role, State
from catalog.models import DataHolder
from portal import selectors
from tests.conftest import make_user, paris

pytestmark = pytest.mark.django_db
THREE = ("snds", "pmsi", "uroccr")  # CNAM, ATIH, CHU de Bordeaux
CNAM = "Caisse nationale de l'Assurance maladie (CNAM)"
ATIH = "Agence technique de l'information sur l'hospitalisation (ATIH)"
CHU = "CHU de Bordeaux"


def page_of(client, request, **headers):
    response = client.get(reverse("portal:detail", args=[request.reference]), **headers)
    assert response.status_code == 200
    return response


def test_three_holders_at_three_stages_are_three_lines(client, make_request, personas):
    with time_machine.travel(paris(2026, 2, 2), tick=False):
        request = make_request(State.CONTRACTING, codes=THREE, other_holders="open")
    tasks = {t.holder.code: t for t in HolderTask.objects.filter(request=request).select_related("holder")}
    atih = make_user("atih@atih.example", role=Role.DATA_HOLDER, data_holder=DataHolder.objects.get(code="atih"))
    with time_machine.travel(paris(2026, 3, 9), tick=False):
        services.record_task_contract_signed(task_id=tasks["cnam"].pk, actor=personas["cnam"])
        services.record_task_contract_signed(task_id=tasks["atih"].pk, actor=atih)
    with time_machine.travel(paris(2026, 4, 14), tick=False):
        services.record_task_matching_done(task_id=tasks["cnam"].pk, actor=personas["cnam"])
    with time_machine.travel(paris(2026, 5, 20), tick=False):
        services.deliver_task(task_id=tasks["cnam"].pk, actor=personas["cnam"])

    client.force_login(personas["applicant"])
    response = page_of(client, request)
    lines = response.context["holder_lines"]
    assert [(line.holder, line.state) for line in lines] == [
        (ATIH, "matching"), (CHU, "contracting"), (CNAM, "delivered")]
    atih_line, chu_line, cnam_line = lines
    assert atih_line.since == paris(2026, 3, 9) and atih_line.due_date == dt.date(2026, 2, 2) + dt.timedelta(days=180)
    assert cnam_line.delivered_at == paris(2026, 5, 20) and cnam_line.due_date is None
    assert chu_line.since == paris(2026, 2, 2) and chu_line.delivered_at is None
    html = response.content.decode()
    table = html[html.index('id="holder-lines"'):html.index("</table>", html.index('id="holder-lines"'))]
    assert table.count("<tr>") == 4  # the header and three holders
    for text in ("Agence technique de l&#x27;information sur l&#x27;hospitalisation (ATIH)", "Appariement",
                 "Données mises à disposition", "Conventionnement", "20/05/2026", "09/03/2026", "01/08/2026"):
        assert text in table


@pytest.mark.parametrize("state", [State.DRAFT, State.SUBMITTED, State.CNIL_REVIEW])
def test_before_the_decision_the_holders_to_come_are_waiting(client, make_request, personas, state):
    request = make_request(state, codes=THREE)
    client.force_login(personas["applicant"])
    lines = page_of(client, request).context["holder_lines"]
    assert [(line.holder, line.waiting, line.since) for line in lines] == [
        (ATIH, True, None), (CHU, True, None), (CNAM, True, None)]
    assert "À venir, après l&#x27;autorisation" in page_of(client, request).content.decode()


def test_a_request_ended_before_the_decision_lists_no_holder(client, make_request, personas):
    request = make_request(State.REJECTED, codes=THREE)
    client.force_login(personas["applicant"])
    response = page_of(client, request)
    assert response.context["holder_lines"] == []
    assert 'id="holder-lines"' not in response.content.decode()


def test_two_datasets_of_one_holder_are_one_line(make_request):
    request = make_request(State.CNIL_REVIEW, codes=("snds", "esnd"))
    page = selectors.request_for_page(request.applicant, request.reference)
    assert [line.holder for line in selectors.holder_lines(page)] == [CNAM]


def test_the_lines_read_in_english(client, make_request, personas):
    request = make_request(State.CONTRACTING, codes=THREE, other_holders="open")
    client.force_login(personas["applicant"])
    html = page_of(client, request, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your data, holder by holder" in html
    for french in ("détenteur par détenteur", "Échéance prévue", "Conventionnement"):
        assert french not in html


def test_the_page_reads_the_holder_lines_in_one_query(make_request, django_assert_num_queries):
    request = make_request(State.CONTRACTING, codes=THREE, other_holders="open")
    page = selectors.request_for_page(request.applicant, request.reference)
    with django_assert_num_queries(0):
        assert len(selectors.holder_lines(page)) == 3
