"""The dossier's ZIP: the dossier PDF, every attachment that may be served under a safe and unique
name, and a manifest of every attachment with its checksum, saying which were left out and why."""

from __future__ import annotations

import hashlib
import posixpath

import pytest

from access_requests.models import Attachment, ScanStatus
from access_requests.workflow import State
from documents import builders
from tests.documents.conftest import PDF_BYTES, attach
from tests.documents.helpers import archive, pdf_text

pytestmark = pytest.mark.django_db


def zip_of(request, language: str = "fr"):
    with builders.dossier_zip(request, language=language) as handle:
        return archive(handle.read())


def safe(name: str) -> bool:
    return (not name.startswith("/") and "\\" not in name and ".." not in name.split("/")
            and posixpath.normpath(name) == name and name.isascii())


def test_the_zip_holds_the_dossier_pdf_each_attachment_and_the_manifest(make_request, applicant):
    request = make_request(State.DRAFT)
    first = attach(request, applicant, "protocole.pdf", kind="protocol")
    second = attach(request, applicant, "Plan de gestion (v2).pdf", kind="data_management_plan",
                    content=b"%PDF-1.4\n% v2\n%%EOF\n")

    with zip_of(request) as zipped:
        names = zipped.namelist()
        assert names == ["dossier.pdf", "pieces/01-protocole.pdf", "pieces/02-Plan-de-gestion-v2.pdf", "manifeste.txt"]
        assert "Parcours de soins après un AVC" in pdf_text(zipped.read("dossier.pdf"))
        assert zipped.read("pieces/01-protocole.pdf") == PDF_BYTES
        assert hashlib.sha256(zipped.read("pieces/02-Plan-de-gestion-v2.pdf")).hexdigest() == second.sha256
        manifest = zipped.read("manifeste.txt").decode("utf-8")
    assert manifest.startswith(f"Dossier {request.reference} — Parcours de soins après un AVC\n")
    assert "Pièces incluses (2) :" in manifest and "non incluse" not in manifest
    assert ("pieces/01-protocole.pdf\n  protocole.pdf (Protocole, 77\u00a0octets), déposée le " in manifest)
    assert f"  SHA-256 : {first.sha256}\n" in manifest and f"  SHA-256 : {second.sha256}\n" in manifest
    assert "\n\n\n" not in manifest


def test_attachments_that_may_not_be_served_are_left_out_and_the_manifest_says_why(make_request, applicant):
    request = make_request(State.DRAFT)
    clean = attach(request, applicant, "sain.pdf")
    pending = attach(request, applicant, "en-attente.pdf")
    infected = attach(request, applicant, "virus.pdf")
    failed = attach(request, applicant, "echec.pdf")
    tampered = attach(request, applicant, "modifiee.pdf")
    missing = attach(request, applicant, "disparue.pdf")
    Attachment.objects.filter(pk=pending.pk).update(scan_status=ScanStatus.PENDING)
    Attachment.objects.filter(pk=infected.pk).update(scan_status=ScanStatus.INFECTED, scan_result="Eicar-Test-Signature")
    Attachment.objects.filter(pk=failed.pk).update(scan_status=ScanStatus.ERROR)
    with open(tampered.file.path, "wb") as handle:
        handle.write(b"%PDF-1.4\n% changed after upload\n%%EOF\n")
    missing.file.storage.delete(missing.file.name)

    with zip_of(request) as zipped:
        assert zipped.namelist() == ["dossier.pdf", "pieces/01-sain.pdf", "manifeste.txt"]
        manifest = zipped.read("manifeste.txt").decode("utf-8")
    assert "Pièce incluse (1) :" in manifest and "Pièces non incluses (5) :" in manifest
    for attachment, reason in (
            (pending, "en quarantaine : l'analyse antivirus est en cours"),
            (infected, "virus détecté (Eicar-Test-Signature) : son contenu a été supprimé"),
            (failed, "en quarantaine : l'analyse antivirus a échoué"),
            (tampered, "son contenu ne correspond plus à l'empreinte enregistrée au dépôt"),
            (missing, "fichier introuvable sur le serveur")):
        block = manifest.split(f"\n{attachment.original_name}\n", 1)[1].split("\n\n", 1)[0]
        assert f"SHA-256 : {attachment.sha256}" in block
        assert f"Non incluse : {reason}." in block
    assert clean.sha256 in manifest


def test_names_in_the_archive_are_safe_and_unique(make_request, applicant):
    request = make_request(State.DRAFT)
    for _ in range(2):
        attach(request, applicant, "protocole.pdf")
    hostile = attach(request, applicant, "autre.pdf")
    # Stored names are already safe (access_requests.attachments.safe_name); the archive does not rely on it.
    Attachment.objects.filter(pk=hostile.pk).update(original_name="../../etc/passwd/..\\..\\évil name.pdf")

    with zip_of(request) as zipped:
        names = zipped.namelist()
    assert names == ["dossier.pdf", "pieces/01-protocole.pdf", "pieces/02-protocole.pdf",
                     "pieces/03-evil-name.pdf", "manifeste.txt"]
    assert len(set(names)) == len(names) and all(safe(name) for name in names)


def test_the_english_archive(make_request, applicant, language_restored):
    request = make_request(State.DRAFT)
    attachment = attach(request, applicant, "protocol.pdf", kind="protocol")
    Attachment.objects.filter(pk=attachment.pk).update(scan_status=ScanStatus.PENDING)
    attach(request, applicant, "plan.pdf", kind="data_management_plan")

    with zip_of(request, "en") as zipped:
        assert zipped.namelist() == ["dossier.pdf", "documents/02-plan.pdf", "manifest.txt"]
        manifest = zipped.read("manifest.txt").decode("utf-8")
    assert "Document included (1):" in manifest and "Document left out (1):" in manifest
    assert "Left out: quarantined: the antivirus scan is in progress." in manifest
    assert f"SHA-256: {attachment.sha256}" in manifest
    assert "Pièce" not in manifest and "déposée" not in manifest
