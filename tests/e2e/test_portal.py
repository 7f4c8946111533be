"""The applicant portal in a real browser: sign up, confirm, draft, upload, submit, answer, withdraw.

Each test checks the pages it visits with axe-core and saves a screenshot (tests/e2e/conftest.py: screenshots_dir).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest, Attachment
from access_requests.workflow import State
from delays.models import DelayBaseline
from tests.conftest import PASSWORD, complete_dossier, datasets, use_private_media
from tests.e2e.conftest import login, screenshot, serious_accessibility_violations
from tests.portal.conftest import PDF, docx_bytes, upload

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "Une-Phrase-De-Passe-Solide-7"


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _complete_dossier_required(production_completeness):
    """The browser walk-through files the dossier the production settings require."""


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path, monkeypatch):
    return use_private_media(settings, tmp_path, monkeypatch)


def accessible(page) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], violations


def check(page, selector: str) -> None:
    """DSFR checkboxes are styled on their label: click it as a user would."""
    page.locator(f"label[for='{selector.lstrip('#')}']").click()
    assert page.locator(selector).is_checked()


def test_a_project_leader_signs_up_files_a_complete_dossier_and_follows_it(page):
    page.goto("/")
    page.click("text=Créer un compte")
    page.fill("#id_email", "ada.lovelace@univ-exemple.fr")
    page.fill("#id_first_name", "Ada")
    page.fill("#id_last_name", "Lovelace")
    page.fill("#id_organisation", "Université d'exemple — laboratoire d'épidémiologie")
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    accessible(page)
    screenshot(page, "portal-signup")
    page.click("button:has-text('Créer mon compte')")
    assert page.locator("h1").inner_text() == "Confirmez votre adresse électronique"

    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    page.goto("/" + link.split("/", 3)[3])
    page.click("button:has-text('Confirmer mon adresse')")
    assert page.locator("h1").inner_text() == "Mes demandes"
    assert page.locator("text=Aucune demande pour l'instant").is_visible()

    # The draft: a first try without a title keeps everything typed.
    page.click("main a:has-text('Nouvelle demande')")
    page.fill("#id_summary", "Devenir à 5 ans des patients opérés d'un cancer du rein, selon le parcours de soins.")
    page.fill("#id_public_interest", "Réduire les inégalités territoriales de prise en charge.")
    page.fill("#id_methodology", "Cohorte rétrospective 2015-2024, appariement déterministe sur le NIR pseudonymisé.")
    page.fill("#dataset-search", "bordeaux")
    assert page.locator(".hdh-dataset:visible").count() == 1
    check(page, "#" + page.locator(".hdh-dataset:visible input").get_attribute("id"))
    page.fill("#dataset-search", "snds base")
    check(page, "#" + page.locator(".hdh-dataset:visible input").first.get_attribute("id"))
    page.fill("#dataset-search", "")
    page.fill("#id_team_members", "Ada Lovelace, investigatrice principale\nCharles Babbage, biostatisticien")
    with page.expect_navigation():  # the form saves itself first (autosave.js), then is sent
        page.click("button:has-text('Enregistrer le brouillon')")
    assert page.locator("#form-errors").is_visible()
    assert page.locator("#id_summary").input_value().startswith("Devenir à 5 ans")
    assert page.locator(".hdh-dataset input:checked").count() == 2
    page.fill("#id_title", "Cancers du rein : parcours de soins et survie")
    accessible(page)
    screenshot(page, "portal-new")
    page.click("button:has-text('Enregistrer le brouillon')")
    page.wait_for_url(re.compile(r"/portal/requests/HDH-\d{4}-\d{4}/#pieces$"))

    request = AccessRequest.objects.get()
    assert request.state == State.DRAFT and request.requires_matching
    assert page.locator("text=Il manque 2 éléments avant le dépôt").is_visible()
    accessible(page)
    screenshot(page, "portal-draft")

    for kind, name, content in (("protocol", "protocole.pdf", PDF), ("data_management_plan", "plan.docx", docx_bytes())):
        page.select_option("#id_kind", kind)
        page.set_input_files("#id_file", files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}])
        page.click("button:has-text('Ajouter la pièce')")
        assert page.locator(f"a:has-text('{name}')").is_visible()
    # A wrong file is refused with a clear message.
    page.set_input_files("#id_file", files=[{"name": "virus.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90"}])
    page.click("button:has-text('Ajouter la pièce')")
    assert page.locator("text=Seuls les documents PDF, ODT ou DOCX sont acceptés").is_visible()
    assert Attachment.objects.count() == 2

    page.goto(f"/portal/requests/{request.reference}/")
    check(page, "#id_certify")
    page.click("button:has-text('Déposer la demande')")
    assert page.locator("text=déposée. Le secrétariat du HDH").is_visible()
    request.refresh_from_db()
    assert request.state == State.SUBMITTED
    assert page.locator("#etapes table tbody tr").count() == 1
    assert page.locator("text=Échéance réglementaire de l'étape").is_visible()
    assert page.locator("text=Étape 1 sur 7").is_visible()
    accessible(page)
    screenshot(page, "portal-submitted")

    page.click("header a:has-text('Mes demandes')")
    assert page.locator(f"text={request.reference}").is_visible()
    accessible(page)


def _dossier_with_history(personas):
    """A dossier filed 70 days ago, reviewed by the CESREES, now asked a question by the CNIL."""
    applicant, now = personas["applicant"], timezone.now()
    # Medians of delivered dossiers, as the nightly refresh would have them (DOMAIN.md figures).
    DelayBaseline.objects.update_or_create(key="target", defaults={"computed_at": now, "medians": {
        "submitted": 9, "cesrees_review": 38, "cnil_review": 60, "contracting": 75, "matching": 200,
        "extraction": 130, "awaiting_applicant": 15}})

    def at(days_ago: float):
        return time_machine.travel(now - dt.timedelta(days=days_ago), tick=False)

    with at(75):
        request = services.create_draft(actor=applicant, title="Parcours de soins après un AVC",
                                        summary="Cohorte nationale des AVC ischémiques.",
                                        datasets=datasets("snds", "oscour"))
        services.update_draft(request_id=request.pk, actor=applicant, public_interest="Prévention des récidives.",
                              methodology="Cohorte rétrospective, appariement des passages aux urgences.")
        services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload("protocole.pdf"), kind="protocol")
        services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload("pgd.docx", docx_bytes()),
                                kind="data_management_plan")
    with at(70):
        services.submit(request_id=request.pk, actor=applicant)
    with at(66):
        services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])
    with at(35):
        services.record_cesrees_opinion(request_id=request.pk, actor=personas["cesrees"], opinion="favourable")
    with at(4):
        services.request_information(request_id=request.pk, actor=personas["cnil"],
                                     question="Précisez la durée de conservation des données et le lieu d'hébergement.")
    return AccessRequest.objects.get(pk=request.pk)


def _other_requests(personas) -> None:
    """A late dossier at contracting (filed 9 months ago) and a draft, for a realistic list."""
    applicant, now = personas["applicant"], timezone.now()
    with time_machine.travel(now - dt.timedelta(days=290), tick=False):
        late = services.create_draft(actor=applicant, title="Vaccination antigrippale des plus de 65 ans",
                                     datasets=datasets("snds", "esnd"))
        complete_dossier(late, applicant)
        services.submit(request_id=late.pk, actor=applicant)
    steps = [(285, services.forward_to_cesrees, "secretariat", {}),
             (250, services.record_cesrees_opinion, "cesrees", {"opinion": "favourable_with_recommendations"}),
             (170, services.record_cnil_decision, "cnil", {"authorised": True, "decision_number": "DR-2026-118",
                                                           "decision_date": (now - dt.timedelta(days=170)).date()})]
    for days, service, who, kwargs in steps:
        with time_machine.travel(now - dt.timedelta(days=days), tick=False):
            service(request_id=late.pk, actor=personas[who], **kwargs)
    services.create_draft(actor=personas["colleague"], title="Sarcomes : données DeepSarc et SNDS",
                          datasets=datasets("deepsarc", "snds"))


def test_the_applicant_answers_an_information_request_and_the_stage_resumes(page, personas):
    request = _dossier_with_history(personas)
    _other_requests(personas)
    login(page, personas["applicant"].username, PASSWORD)
    page.goto("/portal/")
    assert page.locator("text=Réponse attendue de votre part").is_visible()
    accessible(page)
    screenshot(page, "portal-list")
    page.click(f"a:has-text('{request.title}')")
    assert page.locator("text=Des compléments vous sont demandés").is_visible()
    assert page.locator("#complements").get_by_text("Précisez la durée de conservation").is_visible()
    accessible(page)
    screenshot(page, "portal-question")
    page.fill("#id_answer", "Conservation 5 ans après la fin de l'étude, hébergement sur la plateforme du HDH.")
    page.click("button:has-text('Envoyer la réponse')")
    assert page.locator("text=Réponse envoyée").is_visible()
    request.refresh_from_db()
    assert request.state == State.CNIL_REVIEW
    assert page.locator("text=Étape en cours").is_visible()
    assert page.locator("#etapes tbody tr").count() == 5  # submitted, CESREES, CNIL, applicant, CNIL
    accessible(page)
    screenshot(page, "portal-timeline")


def test_the_applicant_withdraws_a_request_after_confirming(page, personas):
    request = _dossier_with_history(personas)
    login(page, personas["colleague"].username, PASSWORD)
    page.goto(f"/portal/requests/{request.reference}/")
    page.click("a:has-text('Retirer la demande')")
    assert page.locator("h1").inner_text() == "Retirer la demande"
    request.refresh_from_db()
    assert request.state == State.AWAITING_APPLICANT  # nothing happens before confirming
    page.fill("#id_reason", "Le financement du projet n'a pas été reconduit.")
    accessible(page)
    screenshot(page, "portal-withdraw")
    page.click("button:has-text('Confirmer le retrait')")
    assert page.locator("text=retirée").first.is_visible()
    request.refresh_from_db()
    assert request.state == State.WITHDRAWN
    assert page.locator("a:has-text('Retirer la demande')").count() == 0
    accessible(page)


def test_the_profile_switches_the_language_and_the_account_pages_are_accessible(page, applicant):
    page.goto("/accounts/password-reset/")
    accessible(page)
    login(page, applicant.username, PASSWORD)
    page.goto("/accounts/profile/")
    accessible(page)
    page.locator("label[for='id_language_1']").click()
    page.click("button:has-text('Enregistrer')")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.url.endswith("/accounts/profile/")
    applicant.profile.refresh_from_db()
    assert applicant.profile.language == "en"
    screenshot(page, "portal-profile")
