"""Messages inside the dossier, in Chromium: a round trip with its email, and an external expert.

A reviewer writes to the applicant; the periodic job sends one email, without the message, whose
link opens the dossier's thread; the applicant replies with a document; the reviewer sees the
reply, its document and the receipt of their own message. Then the CESREES invites an expert,
who reads the dossier from the link of their email until the access is revoked.
Screenshots: messages-*.png (tests/e2e/conftest.py: screenshots_dir).
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.management import call_command

from access_requests import services
from access_requests.models import Message
from access_requests.workflow import Role
from tests.conftest import PASSWORD, datasets, make_user, use_private_media
from tests.e2e.conftest import login, screenshot, serious_accessibility_violations
from tests.portal.conftest import PDF

pytestmark = pytest.mark.django_db(transaction=True)
QUESTION = "Le comité demande la taille attendue de la cohorte."


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path, monkeypatch):
    return use_private_media(settings, tmp_path, monkeypatch)


@pytest.fixture
def people(organisation):
    return {
        "applicant": make_user("porteur@inserm.example", organisation=organisation, first_name="Claire",
                               last_name="Martin"),
        "cesrees": make_user("cesrees@hdh.example", role=Role.CESREES, first_name="Anne", last_name="Roux"),
        "secretariat": make_user("secretariat@hdh.example", role=Role.SECRETARIAT, first_name="Sami",
                                 last_name="Benali"),
    }


@pytest.fixture
def reviewed(people):
    applicant = people["applicant"]
    draft = services.create_draft(actor=applicant, title="Insuffisance cardiaque et réhospitalisations",
                                  datasets=datasets("snds", "oscour"))
    services.submit(request_id=draft.pk, actor=applicant)
    return services.forward_to_cesrees(request_id=draft.pk, actor=people["secretariat"])


def as_user(browser, live_server, email: str | None, tmp_path=None):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, base_url=live_server.url,
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    if email:
        login(page, email, PASSWORD)
    return page


def accessible(page) -> None:
    assert serious_accessibility_violations(page) == []


def link_in(body: str) -> str:
    """The path of the first link of an email (its host is SITE_URL, not the live server's)."""
    url = re.search(r"https?://\S+", body).group(0)
    return "/" + url.split("/", 3)[3]


def test_a_message_goes_to_the_applicant_by_email_and_the_reply_comes_back_with_its_receipt(
        browser, live_server, people, reviewed, settings, tmp_path):
    settings.HDH_MESSAGE_EMAIL_DELAY_SECONDS = 0  # the job runs right away here (120 s by default)

    # The CESREES writes to the applicant from the request's page.
    reviewer = as_user(browser, live_server, "cesrees@hdh.example")
    reviewer.goto(f"/backoffice/requests/{reviewed.reference}/")
    reviewer.fill("#message-body", QUESTION)
    reviewer.click("#messages button[type=submit]")
    assert "Message envoyé au demandeur." in reviewer.locator(".fr-alert--success").inner_text()
    mine = reviewer.locator("#messages li", has_text=QUESTION)
    assert "Pas encore lu par le demandeur" in mine.inner_text()

    # The periodic job: one email to the applicant, which does not quote the message.
    mail.outbox.clear()
    call_command("notify_messages")
    [email] = [m for m in mail.outbox if m.to == ["porteur@inserm.example"]]
    assert email.subject == f"{reviewed.reference} : un nouveau message"
    assert QUESTION not in email.body and all(QUESTION not in html for html, _type in email.alternatives)

    # Its link opens the dossier's thread (after signing in).
    applicant = as_user(browser, live_server, None)
    applicant.goto(link_in(email.body))
    applicant.fill("#id_username", "porteur@inserm.example")
    applicant.fill("#id_password", PASSWORD)
    applicant.click("button[type=submit]:has-text('Se connecter')")
    applicant.wait_for_url(re.compile(rf"/portal/requests/{reviewed.reference}/"))
    thread = applicant.locator("#messages")
    assert QUESTION in thread.inner_text() and "CESREES" in thread.inner_text()
    assert "Anne Roux" not in thread.inner_text()  # the reviewers are named by their role
    accessible(applicant)
    screenshot(applicant, "messages-portal")

    # The applicant replies with a document.
    document = tmp_path / "effectifs.pdf"
    document.write_bytes(PDF)
    applicant.fill("#message-body", "Environ 12 000 patients, détail joint.")
    applicant.set_input_files("#message-documents", str(document))
    applicant.click("#messages button[type=submit]")
    assert applicant.locator(".fr-alert--success", has_text="Message envoyé.").is_visible()
    reply = applicant.locator("#messages li", has_text="Environ 12 000 patients")
    assert "effectifs.pdf" in reply.inner_text() and "Pas encore lu par les équipes d'instruction" in reply.inner_text()
    assert Message.objects.get(body__startswith="Environ").attachments.get().original_name == "effectifs.pdf"

    # The reply's email goes to the reviewers who own the stage (nobody is assigned), once.
    mail.outbox.clear()
    call_command("notify_messages")
    [email] = mail.outbox
    assert email.to == ["cesrees@hdh.example"] and "Environ 12 000" not in email.body
    assert link_in(email.body) == f"/backoffice/requests/{reviewed.reference}/#messages"

    # The reviewer follows the link from their queue: the reply, its document, and their message read.
    reviewer.goto("/backoffice/")
    reviewer.goto(link_in(email.body))
    reply = reviewer.locator("#messages li", has_text="Environ 12 000 patients")
    assert "Claire Martin (Inserm U1018)" in reply.inner_text()
    with reviewer.expect_download() as download:
        reply.locator("a", has_text="effectifs.pdf").click()
    assert download.value.suggested_filename == "effectifs.pdf"
    receipt = reviewer.locator("#messages li", has_text=QUESTION).locator(".hdh-read").inner_text()
    assert re.fullmatch(r"Lu par Claire Martin \(Inserm U1018\) le .+", receipt.strip()), receipt
    accessible(reviewer)
    screenshot(reviewer, "messages-backoffice")

    mail.outbox.clear()
    call_command("notify_messages")
    assert mail.outbox == []  # nothing new
    applicant.reload()
    assert re.search(r"Lu par CESREES le ", applicant.locator("#messages li", has_text="Environ").inner_text())
    reviewer.context.close()
    applicant.context.close()


def test_an_expert_reads_the_dossier_from_the_link_of_the_invitation_until_it_is_revoked(
        browser, live_server, people, reviewed):
    services.post_message(request_id=reviewed.pk, actor=people["cesrees"], body="Avis interne provisoire.",
                          internal=True)
    reviewer = as_user(browser, live_server, "cesrees@hdh.example")
    reviewer.goto(f"/backoffice/requests/{reviewed.reference}/")
    mail.outbox.clear()
    reviewer.fill("#expert-email", "rapporteur@univ.example")
    reviewer.click("#experts button[type=submit]")
    assert "Invitation envoyée à rapporteur@univ.example" in reviewer.locator(".fr-alert--success").inner_text()
    [email] = [m for m in mail.outbox if m.to == ["rapporteur@univ.example"]]

    expert = as_user(browser, live_server, None)
    expert.goto(link_in(email.body))
    assert expert.locator("h1").inner_text() == reviewed.title
    assert "/expert/dossiers/" in expert.url  # the token left the address bar
    assert "Avis interne provisoire." not in expert.content()
    accessible(expert)
    screenshot(expert, "messages-expert")

    reviewer.reload()
    assert "Dernière consultation le" in reviewer.locator("#experts").inner_text()
    reviewer.click("#experts button:has-text('Révoquer')")
    assert "Révoquée le" in reviewer.locator("#experts").inner_text()

    response = expert.reload()
    assert response.status == 410
    assert expert.locator("h1").inner_text() == "Ce lien n'est plus valable"
    accessible(expert)
    reviewer.context.close()
    expert.context.close()
