"""The back office in Chromium: a request goes from the secretariat to delivery, and the dashboard.

The secretariat asks for information, the applicant answers in the portal, the secretariat forwards the dossier,
the CESREES records its opinion, the CNIL authorises, the CNAM signs, matches and delivers its task; then
management reads the delay dashboard. Screenshots: backoffice-*.png (tests/e2e/conftest.py: screenshots_dir).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest, HolderTask
from access_requests.workflow import Role, State
from catalog.models import DataHolder
from tests.backoffice.helpers import backoffice_settings, import_sample  # noqa: F401  (autouse)
from tests.conftest import PASSWORD, advance_other_holders, datasets, make_user
from tests.e2e.conftest import login, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(organisation):
    return {
        "applicant": make_user("porteur@inserm.example", organisation=organisation, first_name="Claire",
                               last_name="Martin"),
        "secretariat": make_user("secretariat@hdh.example", role=Role.SECRETARIAT, first_name="Sami",
                                 last_name="Benali"),
        "cesrees": make_user("cesrees@hdh.example", role=Role.CESREES, first_name="Anne", last_name="Roux"),
        "cnil": make_user("cnil@cnil.example", role=Role.CNIL, first_name="Marc", last_name="Petit"),
        "cnam": make_user("cnam@cnam.example", role=Role.DATA_HOLDER, first_name="Julie", last_name="Moreau",
                          data_holder=DataHolder.objects.get(code="cnam")),
        "management": make_user("direction@hdh.example", role=Role.MANAGEMENT, first_name="Paul",
                                last_name="Durand"),
    }


def as_user(browser, live_server, email: str):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, email, PASSWORD)
    return page


def open_action(page, title: str):
    """Unfold the action panel titled ``title``; returns the panel."""
    panel = page.locator("#actions details", has=page.locator(f"summary:text-is(\"{title}\")"))
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    return panel


def state_of(request) -> str:
    return AccessRequest.objects.get(pk=request.pk).state


def test_a_request_goes_from_the_secretariat_to_delivery_in_the_back_office(browser, live_server, people):
    applicant = people["applicant"]
    draft = services.create_draft(actor=applicant, title="Insuffisance cardiaque et réhospitalisations",
                                  summary="Cohorte nationale 2015-2023, réhospitalisations à un an.",
                                  datasets=datasets("snds", "oscour"))
    services.update_draft(request_id=draft.pk, actor=applicant, methodology="Cohorte rétrospective appariée.",
                          public_interest="Réduire les réhospitalisations évitables.")
    request = services.submit(request_id=draft.pk, actor=applicant)

    # The secretariat finds it in its queue and asks for information.
    page = as_user(browser, live_server, "secretariat@hdh.example")
    page.goto("/backoffice/")
    row = page.locator("tbody tr", has_text=request.reference)
    assert row.is_visible()
    assert "Dans les délais" in row.text_content()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "backoffice-queue")
    row.locator("a").first.click()
    assert page.locator("h1").inner_text() == "Insuffisance cardiaque et réhospitalisations"
    open_action(page, "Demander des compléments")
    page.click("label[for=request_information-reason_0]")
    page.fill("#request_information-question", "Joignez le protocole signé par le responsable de traitement.")
    page.click("#action-request_information button[type=submit]")
    assert "c'est enregistré" in page.locator(".fr-alert--success").inner_text()
    assert page.locator("#current-state").text_content() == "Compléments demandés"
    assert state_of(request) == State.AWAITING_APPLICANT

    # The applicant answers in the portal.
    portal = as_user(browser, live_server, "porteur@inserm.example")
    portal.goto(f"/portal/requests/{request.reference}/")
    assert "Joignez le protocole signé" in portal.content()
    portal.fill("#id_answer", "Protocole joint, signé le 3 mars.")
    portal.click("button:has-text('Envoyer la réponse')")
    assert portal.locator("text=Réponse envoyée").is_visible()
    assert state_of(request) == State.SUBMITTED

    # Back to the secretariat: the dossier is complete, it goes to the CESREES.
    page.reload()
    page.fill("#message-body", "Protocole reçu ; dossier complet.")
    page.click("label[for=message-internal]")
    page.click("#messages button[type=submit]")
    open_action(page, "Déclarer le dossier recevable")
    page.click("#action-forward_to_cesrees button[type=submit]")
    assert page.locator("#current-state").text_content() == "Avis du CESREES"
    page.context.close()

    # Internal notes never reach the applicant.
    portal.goto(f"/portal/requests/{request.reference}/")
    assert "Protocole reçu ; dossier complet." not in portal.content()
    portal.goto("/backoffice/")
    assert "Accès refusé" in portal.content()
    portal.context.close()

    # The CESREES records a favourable opinion with recommendations.
    page = as_user(browser, live_server, "cesrees@hdh.example")
    page.goto(f"/backoffice/requests/{request.reference}/")
    open_action(page, "Enregistrer l'avis du CESREES")
    page.click("label[for=record_cesrees_opinion-opinion_1]")
    page.fill("#record_cesrees_opinion-comment", "Préciser la durée de conservation des données.")
    assert serious_accessibility_violations(page) == []
    screenshot(page, "backoffice-detail")
    page.click("#action-record_cesrees_opinion button[type=submit]")
    assert page.locator("#current-state").text_content() == "Autorisation CNIL"
    page.context.close()

    # The CNIL authorises, with the decision's number and date.
    page = as_user(browser, live_server, "cnil@cnil.example")
    page.goto(f"/backoffice/requests/{request.reference}/")
    open_action(page, "Enregistrer la décision de la CNIL")
    page.click("label[for=record_cnil_decision-decision_0]")
    page.fill("#record_cnil_decision-decision_number", "DR-2026-318")
    page.fill("#record_cnil_decision-decision_date", timezone.localdate().isoformat())
    page.click("#action-record_cnil_decision button[type=submit]")
    assert page.locator("#current-state").text_content() == "Conventionnement"
    page.context.close()

    # Santé publique France delivers its part of the data (OSCOUR) first; then the CNAM signs its
    # contract, matches the sources, extracts and delivers, each on its own task, and the request
    # follows the CNAM's task, the last one open.
    advance_other_holders(request)
    cnam_task = HolderTask.objects.get(request=request, holder__code="cnam")
    page = as_user(browser, live_server, "cnam@cnam.example")
    page.goto("/backoffice/")
    page.locator("tbody tr", has_text=request.reference).locator("a").first.click()
    for action, after in (("record_contract_signed", "Appariement"), ("record_matching_done", "Extraction"),
                          ("deliver", "Données mises à disposition")):
        assert page.locator(f"#task-{cnam_task.pk}").get_attribute("open") is not None  # its own task, unfolded
        page.click(f"#task-{cnam_task.pk}-{action} button[type=submit]")
        assert page.locator("#current-state").text_content() == after
    screenshot(page, "backoffice-delivered")
    page.context.close()

    request.refresh_from_db()
    assert request.state == State.DELIVERED
    assert request.cesrees_opinion == "favourable_with_recommendations"
    assert (request.cnil_decision_number, request.cnil_decision_date) == ("DR-2026-318", timezone.localdate())
    assert list(request.events.values_list("action", flat=True)) == [
        "create", "submit", "request_information", "resume", "forward_to_cesrees", "record_cesrees_opinion",
        "authorise", "start_matching", "start_extraction", "deliver"]


def test_management_reads_the_delay_dashboard_as_charts(browser, live_server, people, tmp_path):
    import_sample(tmp_path, 400, as_of=timezone.now() - dt.timedelta(days=1))
    page = as_user(browser, live_server, "direction@hdh.example")
    page.goto("/backoffice/delays/")
    for canvas in ("chart-stages", "chart-shares", "chart-access", "chart-current"):
        assert page.evaluate(f"() => !!Chart.getChart(document.getElementById('{canvas}'))"), canvas
        assert page.locator(f"#{canvas}").bounding_box()["height"] > 100
    assert "Goulet d'étranglement" in page.locator("#bottleneck").inner_text()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "backoffice-delays")

    # The queue of every request, many pages long.
    page.goto("/backoffice/?scope=all&submitted_from=2025-01-01")
    assert page.locator("tbody tr").count() == 50
    assert page.locator(".fr-pagination").is_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "backoffice-queue-all")
