"""Finding things in the back office, in Chromium: a reviewer filters the queue, saves the filters,
leaves and reopens them from their link; follows a dossier; another reviewer moves it; the follower
is emailed through the outbox. Screenshots: backoffice-saved-filters*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.workflow import Role, State
from backoffice.models import SavedFilter
from notifications.models import OutboxMessage
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)
from tests.conftest import datasets, make_user
from tests.e2e.conftest import screenshot, serious_accessibility_violations
from tests.e2e.test_backoffice import as_user, open_action

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
    }


def submitted(people, title: str, *, forward: bool) -> AccessRequest:
    draft = services.create_draft(actor=people["applicant"], title=title, datasets=datasets("snds", "oscour"))
    request = services.submit(request_id=draft.pk, actor=people["applicant"])
    if forward:
        request = services.forward_to_cesrees(request_id=request.pk, actor=people["secretariat"])
    return request


def test_a_reviewer_saves_a_filter_reopens_it_and_follows_a_dossier_another_reviewer_moves(
        browser, live_server, people):
    lung = submitted(people, "Cancer du poumon et exposition professionnelle", forward=True)
    submitted(people, "Insuffisance cardiaque et réhospitalisations", forward=True)
    submitted(people, "Cancer du poumon : parcours de soins", forward=False)
    materialise_all()

    # The secretariat looks for the lung cancer dossiers already at the CESREES.
    page = as_user(browser, live_server, "secretariat@hdh.example")
    page.goto("/backoffice/")
    page.fill("#id_q", "poumon")
    page.select_option("#id_scope", "all")
    page.locator("#more-filters summary").click()
    page.select_option("#id_state", State.CESREES_REVIEW)
    page.click("#search button[type=submit]")
    expect(page.locator("tbody tr")).to_have_count(1)  # waits for the page the click loads
    assert lung.reference in page.locator("tbody tr").inner_text()

    # It saves those filters under a name.
    page.locator("#save-filter summary").click()
    page.fill("#save-name", "Poumon au CESREES")
    page.click("#save-filter button[type=submit]")
    assert "Filtre « Poumon au CESREES » enregistré" in page.locator(".fr-alert--success").inner_text()
    saved = SavedFilter.objects.get(user=people["secretariat"])
    assert saved.query == "q=poumon&scope=all&state=cesrees_review"
    assert serious_accessibility_violations(page) == []
    screenshot(page, "backoffice-saved-filters")

    # It leaves, then reopens them from their link.
    page.goto("/backoffice/delays/")
    page.goto("/backoffice/")
    assert lung.reference not in page.locator("main").inner_text()  # its own queue: the dossier just submitted
    page.locator("#saved-filters a", has_text="Poumon au CESREES").click()
    expect(page.locator("#id_q")).to_have_value("poumon")  # waits for the page the click loads
    assert page.locator("#id_state").input_value() == State.CESREES_REVIEW
    assert page.locator("tbody tr").count() == 1
    assert page.locator("#saved-filters a[aria-current=true]").inner_text() == "Poumon au CESREES"

    # It follows the dossier from its page.
    page.locator("tbody tr a", has_text=lung.reference).click()
    page.click("#follow button:has-text('Suivre cette demande')")
    assert "Vous suivez la demande" in page.locator(".fr-alert--success").inner_text()
    assert page.locator("#follow button").inner_text() == "Ne plus suivre"
    assert serious_accessibility_violations(page) == []

    # The CESREES records its opinion: the secretariat, following, is emailed once.
    cesrees = as_user(browser, live_server, "cesrees@hdh.example")
    cesrees.goto(f"/backoffice/requests/{lung.reference}/")
    open_action(cesrees, "Enregistrer l'avis du CESREES")
    cesrees.click("label[for=record_cesrees_opinion-opinion_0]")
    cesrees.click("#action-record_cesrees_opinion button[type=submit]")
    assert cesrees.locator("#current-state").text_content() == "Autorisation CNIL"
    cesrees.context.close()
    event = AccessRequest.objects.get(pk=lung.pk).events.last()
    [email] = OutboxMessage.objects.filter(key__startswith=f"event:{event.pk}:", to="secretariat@hdh.example")
    assert email.key == f"event:{event.pk}:follower:{people['secretariat'].pk}"
    assert email.subject == f"{lung.reference} (dossier suivi) : passe à l'étape « Autorisation CNIL »"
    assert f"/backoffice/requests/{lung.reference}/" in email.text

    # Its followed dossiers are one click away; the saved filters have their own page.
    page.goto("/backoffice/")
    page.locator("#saved-filters a", has_text="Mes dossiers suivis").click()
    expect(page.locator("tbody tr")).to_contain_text("Autorisation CNIL")  # waits for the page the click loads
    assert page.locator("tbody tr").count() == 1
    page.click("text=Renommer ou supprimer mes filtres")
    page.fill(f"#rename-{saved.pk}-name", "Poumon, CESREES")
    page.click(f"#filter-{saved.pk} button:has-text('Renommer')")
    assert "Filtre renommé « Poumon, CESREES »" in page.locator(".fr-alert--success").inner_text()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "backoffice-saved-filters-page")
    page.context.close()
