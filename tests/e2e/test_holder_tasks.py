"""Holder tasks in Chromium: an applicant whose request has three data holders reads one line per
holder; a holder's staff member finds only its own task in its queue and delivers it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from access_requests import services
from access_requests.models import AccessRequest, HolderTask
from access_requests.workflow import Role, State
from catalog.models import DataHolder
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.django_db(transaction=True)


def new_page(browser, live_server, email: str):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, email, PASSWORD)
    return page


@pytest.fixture
def three_holders(make_request, personas):
    """A request for the SNDS (CNAM), the PMSI (ATIH) and UroCCR (CHU de Bordeaux): the CNAM's task
    in extraction, the ATIH's in extraction too, the CHU's still in contracting."""
    request = make_request(State.CONTRACTING, codes=("snds", "pmsi", "uroccr"), other_holders="open")
    atih = make_user("atih@atih.example", role=Role.DATA_HOLDER, data_holder=DataHolder.objects.get(code="atih"),
                     first_name="Claire", last_name="Fontaine")
    tasks = {t.holder.code: t for t in HolderTask.objects.filter(request=request).select_related("holder")}
    for code, who in (("cnam", personas["cnam"]), ("atih", atih)):
        services.record_task_contract_signed(task_id=tasks[code].pk, actor=who)
        services.record_task_matching_done(task_id=tasks[code].pk, actor=who)
    # A request the ATIH has no part in (the CNAM alone): never in the ATIH queue.
    other = make_request(State.CONTRACTING, codes=("snds",), other_holders="open")
    return {"request": request, "tasks": tasks, "atih": atih, "other": other}


def test_the_applicant_reads_one_line_per_holder(browser, live_server, three_holders):
    request = three_holders["request"]
    page = new_page(browser, live_server, "porteur@inserm.example")
    page.goto(f"/portal/requests/{request.reference}/")
    rows = page.locator("#holder-lines tbody tr")
    assert rows.count() == 3
    text = page.locator("#holder-lines").inner_text()
    for holder, step in (("Agence technique de l'information sur l'hospitalisation (ATIH)", "Extraction"),
                         ("Caisse nationale de l'Assurance maladie (CNAM)", "Extraction"),
                         ("CHU de Bordeaux", "Conventionnement")):
        row = rows.filter(has_text=holder)
        assert row.count() == 1 and step in row.inner_text(), holder
    assert "Échéance prévue" in text
    assert serious_accessibility_violations(page) == []
    screenshot(page, "portal-holder-lines")
    page.context.close()


def test_a_holder_sees_only_its_own_task_and_delivers_it(browser, live_server, three_holders):
    request, tasks = three_holders["request"], three_holders["tasks"]
    page = new_page(browser, live_server, "atih@atih.example")
    page.goto("/backoffice/")
    rows = page.locator("#task-queue tbody tr")
    assert rows.count() == 1  # its task of the three-holder request; not the CNAM-only request
    assert request.reference in rows.first.inner_text() and "Extraction" in rows.first.inner_text()
    assert three_holders["other"].reference not in page.content()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "backoffice-holder-queue")

    rows.first.locator("a").first.click()
    own = f"#task-{tasks['atih'].pk}"
    assert page.locator(own).get_attribute("open") is not None  # its own task's panel, unfolded
    for other in ("cnam", "chu-bordeaux"):  # the other holders' tasks: listed, never actionable
        assert page.locator(f"#task-{tasks[other].pk}").count() == 0
    assert page.locator("#tasks tbody tr").count() == 3
    assert serious_accessibility_violations(page) == []
    page.fill(f"{own}-deliver textarea", "Données PMSI déposées dans l'espace projet.")
    page.click(f"{own}-deliver button[type=submit]")
    atih_row = page.locator(f"#task-{tasks['atih'].pk}-row")
    expect(atih_row).to_contain_text("Données mises à disposition")  # waits for the page the click loads
    assert page.locator("#current-state").text_content() == "Conventionnement"  # the CHU has not signed
    assert HolderTask.objects.get(pk=tasks["atih"].pk).state == "delivered"
    assert AccessRequest.objects.get(pk=request.pk).state == State.CONTRACTING

    page.goto("/backoffice/")
    assert page.locator("#task-queue").count() == 0  # nothing left for the ATIH
    page.context.close()
