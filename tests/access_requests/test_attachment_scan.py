"""The antivirus: with HDH_CLAMAV_SOCKET, a new attachment waits in quarantine until a real clamd
(tests/clamd.py) has read it; infected content is deleted; nothing quarantined is served."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from access_requests import services, tasks
from access_requests.exceptions import InvalidInput
from access_requests.models import Attachment, ScanStatus
from access_requests.workflow import State
from hdh_access.celery import app
from tests.access_requests.conftest import stored_files
from tests.clamd import EICAR, FOUND_AS, STREAM_MAX_BYTES, Clamd
from tests.conftest import SAMPLE_PDF, with_form_token

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
INFECTED_PDF = b"%PDF-1.4\n%" + EICAR + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def antivirus(settings, clamd, attachment_storage):
    settings.HDH_CLAMAV_SOCKET = clamd.socket_path
    return clamd


def pdf(name: str = "protocole.pdf", content: bytes = SAMPLE_PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _upload(client, request, content: bytes, kind: str = "protocol"):
    return client.post(reverse("portal:upload", args=[request.reference]),
                       with_form_token(client, {"kind": kind, "file": pdf(content=content)}))


def _submittable(make_request, applicant):
    request = make_request(State.DRAFT)
    services.update_draft(request_id=request.pk, actor=applicant, public_interest="Santé publique",
                          methodology="Cohorte")
    return request


# --- clean -----------------------------------------------------------------------------------------
def test_a_clean_upload_is_quarantined_until_clamd_says_clean_then_it_is_downloadable(
        client, make_request, applicant, antivirus, django_capture_on_commit_callbacks, language_restored):
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=False) as scans:
        response = _upload(client, request, SAMPLE_PDF)
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.scan_status == ScanStatus.PENDING and len(scans) == 1
    page = client.get(reverse("portal:detail", args=[request.reference]), follow=True).content.decode()
    assert "en cours d&#x27;analyse antivirus" in page and "Analyse antivirus en cours" in page
    assert f'href="{reverse("portal:download", args=[attachment.pk])}"' not in page  # no link while quarantined
    refused = client.get(reverse("portal:download", args=[attachment.pk]))
    assert refused.status_code == 409
    assert "est en cours d&#x27;analyse antivirus" in refused.content.decode()
    in_english = client.get(reverse("portal:download", args=[attachment.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert in_english.status_code == 409 and "is being scanned for viruses" in in_english.content.decode()

    scans[0]()  # the commit happens: the scan task runs (in-process, as without a broker)
    attachment.refresh_from_db()
    assert attachment.scan_status == ScanStatus.CLEAN and attachment.scanned_at and attachment.scan_result == ""
    response = client.get(reverse("portal:download", args=[attachment.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == SAMPLE_PDF


def test_a_scanned_attachment_is_not_scanned_again(settings, make_request, applicant, antivirus,
                                                   django_capture_on_commit_callbacks, tmp_path):
    request = make_request(State.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        attachment = services.add_attachment(request_id=request.pk, actor=applicant, uploaded=pdf(), kind="protocol")
    attachment.refresh_from_db()
    scanned_at = attachment.scanned_at
    settings.HDH_CLAMAV_SOCKET = str(tmp_path / "nobody-listens.sock")  # a second scan would fail loudly
    assert services.scan_attachment(attachment_id=attachment.pk) == ScanStatus.CLEAN
    assert tasks.scan_attachment.apply(args=[attachment.pk]).get() == ScanStatus.CLEAN
    attachment.refresh_from_db()
    assert attachment.scanned_at == scanned_at


# --- infected --------------------------------------------------------------------------------------
def test_an_infected_upload_loses_its_content_keeps_its_row_and_is_never_downloaded(
        client, make_request, applicant, secretariat, antivirus, attachment_storage,
        django_capture_on_commit_callbacks):
    request = make_request(State.AWAITING_APPLICANT)  # reviewers see it in the back office
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, request, INFECTED_PDF, kind="other")
    attachment = Attachment.objects.get(request=request, kind="other")
    assert attachment.scan_status == ScanStatus.INFECTED and attachment.scan_result == FOUND_AS
    assert attachment.sha256 and attachment.size == len(INFECTED_PDF)  # the row stays for the audit
    assert all(EICAR not in path.read_bytes() for path in stored_files(attachment_storage))
    assert not attachment.file.storage.exists(attachment.file.name)

    refused = client.get(reverse("portal:download", args=[attachment.pk]))
    assert refused.status_code == 409
    assert f"contient un virus ({FOUND_AS})" in refused.content.decode()
    page = client.get(reverse("portal:detail", args=[request.reference])).content.decode()
    assert "Virus détecté, contenu supprimé" in page

    client.force_login(secretariat)
    refused = client.get(reverse("backoffice:attachment", args=[attachment.pk]))
    assert refused.status_code == 409 and "contient un virus" in refused.content.decode()
    page = client.get(reverse("backoffice:detail", args=[request.reference])).content.decode()
    assert "Virus détecté, contenu supprimé" in page
    assert reverse("backoffice:attachment", args=[attachment.pk]) not in page


def test_a_dossier_holding_an_infected_piece_cannot_be_submitted_until_it_is_removed(
        client, make_request, applicant, antivirus, production_completeness, django_capture_on_commit_callbacks):
    request = _submittable(make_request, applicant)
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, request, INFECTED_PDF, kind="protocol")
        _upload(client, request, SAMPLE_PDF, kind="data_management_plan")
    infected = Attachment.objects.get(kind="protocol")
    with pytest.raises(InvalidInput) as refused:
        services.submit(request_id=request.pk, actor=applicant)
    problems = refused.value.details["problems"]
    assert f"La pièce « protocole.pdf » contient un virus ({FOUND_AS}) : retirez-la du dossier." in problems
    assert "Joignez le protocole de l'étude (PDF, ODT ou DOCX)." in problems  # an infected piece counts for nothing
    response = client.post(reverse("portal:submit", args=[request.reference]),
                           with_form_token(client, {"expected_state": State.DRAFT}))
    assert response.status_code == 400 and "contient un virus" in response.content.decode()

    services.remove_attachment(attachment_id=infected.pk, actor=applicant)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, request, SAMPLE_PDF, kind="protocol")
    assert services.submit(request_id=request.pk, actor=applicant).state == State.SUBMITTED


def test_a_piece_still_waiting_for_its_scan_does_not_hold_the_submission_up(
        make_request, applicant, antivirus, production_completeness, django_capture_on_commit_callbacks):
    request = _submittable(make_request, applicant)
    with django_capture_on_commit_callbacks(execute=False):
        for kind in ("protocol", "data_management_plan"):
            services.add_attachment(request_id=request.pk, actor=applicant, uploaded=pdf(), kind=kind)
    assert set(Attachment.objects.values_list("scan_status", flat=True)) == {ScanStatus.PENDING}
    assert services.submit(request_id=request.pk, actor=applicant).state == State.SUBMITTED


# --- clamd down, clamd refusing --------------------------------------------------------------------
def test_with_clamd_down_the_piece_stays_quarantined_and_the_sweep_scans_it_once_clamd_is_back(
        client, settings, make_request, applicant, secretariat, attachment_storage, tmp_path, caplog,
        django_capture_on_commit_callbacks):
    daemon = Clamd(tmp_path / "clamd")  # not started yet: clamd is down
    settings.HDH_CLAMAV_SOCKET = daemon.socket_path
    request = make_request(State.AWAITING_APPLICANT)
    client.force_login(applicant)
    with caplog.at_level(logging.WARNING, logger="access_requests.tasks"), \
            django_capture_on_commit_callbacks(execute=True):
        assert _upload(client, request, SAMPLE_PDF, kind="other").status_code == 302
    attachment = Attachment.objects.get(kind="other")
    assert attachment.scan_status == ScanStatus.PENDING
    assert "stays quarantined, clamd unavailable (attempt 1, the sweep will scan it)" in caplog.text
    assert "Error calling" not in caplog.text  # nothing escaped into the upload's on_commit
    assert client.get(reverse("portal:download", args=[attachment.pk])).status_code == 409
    client.force_login(secretariat)
    refused = client.get(reverse("backoffice:attachment", args=[attachment.pk]))
    assert refused.status_code == 409 and "en cours d&#x27;analyse antivirus" in refused.content.decode()
    with pytest.raises(CommandError, match="clamd unavailable"):
        call_command("scan_attachments", stdout=io.StringIO())
    attachment.refresh_from_db()
    assert attachment.scan_status == ScanStatus.PENDING

    daemon.start()
    try:
        sweep = app.tasks["access_requests.tasks.scan_pending_attachments"].apply().get()
    finally:
        daemon.stop()
    assert sweep["counts"][ScanStatus.CLEAN] == 1 and sweep["clamd_unavailable"] == ""
    attachment.refresh_from_db()
    assert attachment.scan_status == ScanStatus.CLEAN
    assert client.get(reverse("backoffice:attachment", args=[attachment.pk])).status_code == 200


def test_on_a_worker_the_scan_is_retried_three_times_with_backoff_then_left_to_the_sweep(
        settings, make_request, applicant, attachment_storage, tmp_path, caplog):
    settings.HDH_CLAMAV_SOCKET = str(tmp_path / "down.sock")
    request = make_request(State.DRAFT)
    attachment = services.add_attachment(request_id=request.pk, actor=applicant, uploaded=pdf(), kind="protocol")
    task = tasks.scan_attachment
    as_on_a_worker = {"args": [attachment.pk], "kwargs": {}, "is_eager": False, "called_directly": False}
    for retries, countdown in ((0, 30), (1, 60), (2, 120)):
        task.push_request(id=f"scan-{retries}", retries=retries, **as_on_a_worker)
        try:
            with pytest.raises(Retry) as retried:
                task.run(attachment.pk)
        finally:
            task.pop_request()
        assert retried.value.when == countdown
    task.push_request(id="scan-3", retries=3, **as_on_a_worker)
    try:
        with caplog.at_level(logging.WARNING, logger="access_requests.tasks"):
            assert task.run(attachment.pk) == ScanStatus.PENDING
    finally:
        task.pop_request()
    assert "clamd unavailable (attempt 4, the sweep will scan it)" in caplog.text
    attachment.refresh_from_db()
    assert attachment.scan_status == ScanStatus.PENDING


def test_a_piece_clamd_refuses_to_scan_stays_quarantined_with_the_reason(
        client, make_request, applicant, antivirus, django_capture_on_commit_callbacks, capsys):
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    large = SAMPLE_PDF + b"0" * STREAM_MAX_BYTES  # over the test clamd's StreamMaxLength
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, request, large)
    attachment = Attachment.objects.get()
    assert attachment.scan_status == ScanStatus.ERROR and "size limit exceeded" in attachment.scan_result
    refused = client.get(reverse("portal:download", args=[attachment.pk]))
    assert refused.status_code == 409 and "L&#x27;analyse antivirus de la pièce" in refused.content.decode()

    call_command("scan_attachments")  # errors are not retried on their own
    attachment.refresh_from_db()
    assert attachment.scan_status == ScanStatus.ERROR
    call_command("scan_attachments", "--retry-errors")
    assert "clean 0, infected 0, error 1; still pending: 0" in capsys.readouterr().out


# --- without an antivirus --------------------------------------------------------------------------
def test_without_an_antivirus_pieces_are_stored_not_scanned_and_served_at_once(
        client, settings, make_request, applicant, attachment_storage, django_capture_on_commit_callbacks):
    settings.HDH_CLAMAV_SOCKET = ""
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _upload(client, request, SAMPLE_PDF)
    attachment = Attachment.objects.get()
    assert attachment.scan_status == ScanStatus.NOT_SCANNED and callbacks == []
    assert client.get(reverse("portal:download", args=[attachment.pk])).status_code == 200
    assert services.scan_pending().counts == dict.fromkeys(ScanStatus.values, 0)
    with pytest.raises(CommandError, match="HDH_CLAMAV_SOCKET is not set"):
        call_command("scan_attachments")


def test_pieces_stored_before_the_antivirus_was_configured_can_be_scanned(
        settings, make_request, applicant, antivirus, django_capture_on_commit_callbacks):
    settings.HDH_CLAMAV_SOCKET = ""
    request = make_request(State.DRAFT)
    clean = services.add_attachment(request_id=request.pk, actor=applicant, uploaded=pdf(), kind="protocol")
    infected = services.add_attachment(request_id=request.pk, actor=applicant,
                                       uploaded=pdf(content=INFECTED_PDF), kind="other")
    settings.HDH_CLAMAV_SOCKET = antivirus.socket_path
    assert services.scan_pending().counts[ScanStatus.CLEAN] == 0  # not unless asked
    call_command("scan_attachments", "--include-unscanned", stdout=io.StringIO())
    statuses = dict(Attachment.objects.values_list("pk", "scan_status"))
    assert statuses == {clean.pk: ScanStatus.CLEAN, infected.pk: ScanStatus.INFECTED}


# --- the periodic sweep and its settings -----------------------------------------------------------
def test_the_sweep_is_in_the_beat_schedule_and_its_task_is_registered():
    entry = django_settings.CELERY_BEAT_SCHEDULE["scan-pending-attachments"]
    assert entry["task"] == "access_requests.tasks.scan_pending_attachments" and entry["task"] in app.tasks
    assert entry["schedule"] == float(django_settings.HDH_CLAMAV_SWEEP_SECONDS)
    assert "access_requests.tasks.scan_attachment" in app.tasks


@pytest.mark.parametrize("variable, value, message", [
    ("HDH_CLAMAV_SOCKET", "clamd.sock", "HDH_CLAMAV_SOCKET: expected an absolute Unix socket path or tcp://host:port"),
    ("HDH_UPLOAD_MAX_RATIO", "0", "HDH_UPLOAD_MAX_RATIO must be at least 1"),
])
def test_a_bad_upload_or_antivirus_setting_stops_the_start(variable, value, message):
    environment = {**os.environ, "DEBUG": "true", variable: value}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and message in result.stderr
