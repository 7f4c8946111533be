"""services.submit refuses an incomplete dossier, whoever calls it, and lists what is missing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from access_requests import services
from access_requests.exceptions import InvalidInput
from access_requests.models import Event
from access_requests.workflow import State

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


@pytest.mark.django_db
def test_submit_lists_everything_missing_and_writes_nothing(make_request, personas, production_completeness):
    request = make_request(State.DRAFT)
    before = Event.objects.filter(request=request).count()
    with translation.override("fr"), pytest.raises(InvalidInput) as caught:
        services.submit(request_id=request.pk, actor=personas["applicant"])
    problems = caught.value.details["problems"]
    assert len(problems) == 4  # public interest, methodology, protocol, data management plan
    assert any("protocole" in p for p in problems) and any("intérêt public" in p for p in problems)
    request.refresh_from_db()
    assert request.state == State.DRAFT and Event.objects.filter(request=request).count() == before


@pytest.mark.django_db
def test_a_complete_dossier_is_submitted(make_request, personas, production_completeness):
    request = make_request(State.DRAFT)
    applicant = personas["applicant"]
    services.update_draft(request_id=request.pk, actor=applicant, public_interest="Prévention", methodology="Cohorte")
    for kind in ("protocol", "data_management_plan"):
        services.add_attachment(request_id=request.pk, actor=applicant, kind=kind,
                                uploaded=SimpleUploadedFile(f"{kind}.pdf", PDF, content_type="application/pdf"))
    assert services.submit(request_id=request.pk, actor=applicant).state == State.SUBMITTED


@pytest.mark.django_db
def test_the_requirements_are_settings(make_request, personas, settings):
    settings.HDH_SUBMIT_REQUIRED_FIELDS = ["team_members"]
    settings.HDH_SUBMIT_REQUIRED_ATTACHMENTS = ["cnil_form"]
    request = make_request(State.DRAFT)
    with translation.override("fr"), pytest.raises(InvalidInput, match="membres de l'équipe"):
        services.submit(request_id=request.pk, actor=personas["applicant"])
