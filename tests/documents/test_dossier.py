"""The dossier PDF: every section, the attachments with their checksums, the stages and the history;
nothing internal to the back office."""

from __future__ import annotations

import pytest
import time_machine

from access_requests import services
from documents import builders
from tests.conftest import datasets, paris
from tests.documents.conftest import attach
from tests.documents.helpers import pdf_text, squeezed

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(player, personas):
    """A dossier with two attachments, submitted, sent to the CESREES, asked for information, answered,
    with an internal note of the secretariat."""
    with time_machine.travel(paris(2025, 1, 3), tick=False):
        draft = services.create_draft(actor=personas["applicant"], title="Parcours de soins après un AVC",
                                      summary="Étude de cohorte nationale", datasets=datasets("snds"))
        services.update_draft(request_id=draft.pk, actor=personas["applicant"], methodology="Cohorte rétrospective")
        protocol = attach(draft, personas["applicant"], "protocole.pdf", kind="protocol")
        plan = attach(draft, personas["applicant"], "plan de gestion.pdf", kind="data_management_plan",
                      content=b"%PDF-1.4\n% another document\n%%EOF\n")
    for when, step in ((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"), (paris(2025, 1, 20), "ask"),
                       (paris(2025, 1, 27), "answer")):
        draft = player.step(draft, when, step)
    services.post_message(request_id=draft.pk, actor=personas["secretariat"], body="Note réservée aux instructeurs",
                          internal=True, acting_as=services.REVIEWER_ROLES)
    return draft, protocol, plan


def test_the_dossier_pdf_holds_every_section_the_attachments_with_their_checksums_and_the_timeline(reviewed):
    request, protocol, plan = reviewed
    with time_machine.travel(paris(2025, 2, 3), tick=False):
        text = pdf_text(builders.dossier_pdf(request, language="fr"))

    assert "Parcours de soins après un AVC" in text and "HDH-2025-0001" in text
    assert "Bases de données demandées SNDS base principale (Caisse nationale de l'Assurance maladie (CNAM))" in text
    # The dossier's fields, from the template the portal page includes.
    for field in ("Procédure Procédure standard (CESREES puis CNIL)", "Résumé du projet Étude de cohorte nationale",
                  "Méthodologie Cohorte rétrospective", "Organisation (responsable de traitement) Inserm U1018",
                  "Porteur du projet porteur@inserm.example (Inserm U1018)"):
        assert field in text
    # Each attachment with its kind, its upload and its whole SHA-256 checksum.
    assert "protocole.pdf" in text and "plan-de-gestion.pdf" in text
    assert "Protocole" in text and "Plan de gestion des données" in text
    assert len({protocol.sha256, plan.sha256}) == 2
    assert protocol.sha256 in squeezed(text) and plan.sha256 in squeezed(text)
    assert "Non analysée" in text  # no antivirus configured in the tests
    # The stages with their legal clocks, then the history (roles, never names).
    assert "Étapes et délais légaux" in text
    assert "Déposée (recevabilité) 06/01/2025 08/01/2025" in text and "15/01/2025 — respectée" in text
    assert "En attente du demandeur Motif : Dossier incomplet 20/01/2025 27/01/2025" in text
    for event in ("Demande déposée — Demandeur", "Dossier déclaré complet et transmis au CESREES — Secrétariat du HDH",
                  "Compléments demandés — CESREES", "Réponse du demandeur envoyée — Demandeur"):
        assert event in text
    assert "Objectif de 7 mois : échéance 6 août 2025" in text
    # Nothing of the back office's own: no internal note, no reviewer's address.
    assert "Note réservée aux instructeurs" not in text
    assert "secretariat@hdh.example" not in text and "cesrees@hdh.example" not in text


def test_the_english_dossier_pdf(reviewed, language_restored):
    request, protocol, _plan = reviewed
    text = pdf_text(builders.dossier_pdf(request, language="en"))
    assert "Request documents" in text and "SHA-256 checksum" in text and "Stages and statutory time limits" in text
    assert protocol.sha256 in squeezed(text)
    assert "Request submitted — Applicant" in text and "Waiting for the applicant" in text
    for french in ("Pièces du dossier", "Historique", "Demande déposée", "Déposée le"):
        assert french not in text


def test_a_draft_s_dossier_says_it_is_not_submitted_yet(make_request):
    text = pdf_text(builders.dossier_pdf(make_request("draft"), language="fr"))
    assert "pas encore déposée (brouillon)" in text
    assert "Pas encore de délai : la demande n'a pas été déposée." in text
    assert "Aucune pièce pour l'instant." in text


def test_after_the_decision_the_dossier_has_one_line_per_data_holder(make_request):
    request = make_request("matching", codes=("snds", "oscour"))  # Santé publique France delivered at once
    text = squeezed(pdf_text(builders.dossier_pdf(request, language="fr")))
    assert squeezed("Détenteur par détenteur") in text
    assert squeezed("Caisse nationale de l'Assurance maladie (CNAM) Appariement") in text
    assert squeezed("Santé publique France Données mises à disposition") in text
