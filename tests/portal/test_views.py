"""What the portal pages do: drafts, pieces, submission, answers, withdrawal, and what they show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from access_requests import services
from access_requests.models import AccessRequest, Attachment, Event
from access_requests.workflow import State
from catalog.models import Dataset
from delays.materialise import materialise_request
from tests.conftest import complete_dossier, make_user, store_baseline, with_form_token
from tests.portal.conftest import PDF, docx_bytes, odt_bytes, stored_files, upload

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


def _draft_data(**overrides) -> dict:
    data = {
        "title": "Cancers du rein et parcours de soins",
        "summary": "Cohorte nationale.",
        "public_interest": "Améliorer la prise en charge.",
        "methodology": "Étude rétrospective, appariement déterministe.",
        "route": "standard",
        "datasets": [str(pk) for pk in Dataset.objects.filter(code__in=["snds", "uroccr"]).values_list("pk", flat=True)],
        "brings_own_data": "on",
        "team_members": "Dr A. Martin, investigatrice\nB. Durand, biostatisticien",
        "expected_start": (dt.date.today() + dt.timedelta(days=90)).isoformat(),
    }
    data.update(overrides)
    return data


def _complete(request, actor):
    services.update_draft(request_id=request.pk, actor=actor, public_interest="Santé publique", methodology="Cohorte")
    services.add_attachment(request_id=request.pk, actor=actor, uploaded=upload("protocole.pdf"), kind="protocol")
    services.add_attachment(request_id=request.pk, actor=actor, uploaded=upload("pgd.pdf"), kind="data_management_plan")


# --- my requests ---------------------------------------------------------------------------------
def test_the_list_shows_each_request_with_its_stage_elapsed_days_deadline_and_status(client, make_request, applicant):
    submitted = make_request(State.CESREES_REVIEW)
    materialise_request(submitted.pk)
    draft = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.get(reverse("portal:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert submitted.reference in html and draft.reference in html
    assert "Avis du CESREES" in html and "Dans les temps" in html and "Non déposée" in html
    deadline = submitted.delay.deadline
    assert deadline.strftime("%d/%m/%Y") in html


def test_the_list_runs_the_same_number_of_queries_for_2_or_12_requests(client, make_request, applicant,
                                                                        django_assert_num_queries):
    for _ in range(2):
        materialise_request(make_request(State.SUBMITTED).pk)
    client.force_login(applicant)
    client.get(reverse("portal:list"))  # warm the session and content types
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("portal:list")).status_code == 200
    for _ in range(10):
        materialise_request(make_request(State.SUBMITTED).pk)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("portal:list"))
    assert len(response.context["rows"]) == 12


def test_the_list_filter_keeps_requests_waiting_on_the_applicant(client, make_request, applicant):
    waiting = make_request(State.AWAITING_APPLICANT)
    forwarded = make_request(State.CESREES_REVIEW)
    client.force_login(applicant)
    html = client.get(reverse("portal:list"), {"filter": "action"}).content.decode()
    assert waiting.reference in html and forwarded.reference not in html


# --- drafts ------------------------------------------------------------------------------------------
def test_creating_a_draft_saves_every_field_and_leads_to_its_page(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("portal:create"), with_form_token(client, _draft_data()))
    request = AccessRequest.objects.get(title="Cancers du rein et parcours de soins")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:detail", args=[request.reference]) + "#pieces"
    assert request.state == State.DRAFT and request.applicant == applicant
    assert request.organisation == applicant.profile.organisation
    assert request.public_interest == "Améliorer la prise en charge."
    assert request.methodology.startswith("Étude rétrospective")
    assert request.team_members.count("\n") == 1
    assert request.brings_own_data and request.requires_matching
    assert sorted(request.datasets.values_list("code", flat=True)) == ["snds", "uroccr"]
    assert request.expected_start == dt.date.today() + dt.timedelta(days=90)
    assert Event.objects.filter(request=request, action="create").count() == 1


def test_a_draft_form_that_fails_validation_keeps_everything_typed(client, applicant):
    client.force_login(applicant)
    data = _draft_data(title="", expected_start="pas une date")
    response = client.post(reverse("portal:create"), with_form_token(client, data))
    html = response.content.decode()
    assert response.status_code == 400
    assert not AccessRequest.objects.exists()
    assert "Cohorte nationale." in html and "Améliorer la prise en charge." in html
    assert "B. Durand, biostatisticien" in html and "pas une date" in html
    for pk in data["datasets"]:
        assert f'value="{pk}" id="id_datasets_' in html
    form = response.context["form"]
    assert set(form.errors) == {"title", "expected_start"}
    assert [str(d.pk) for d in form.cleaned_data["datasets"]] == data["datasets"]


def test_a_reference_methodology_cannot_link_several_sources(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("portal:create"), with_form_token(client, _draft_data(route="reference_methodology")))
    assert response.status_code == 400
    assert "ne permet pas d&#x27;apparier plusieurs sources" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_a_colleague_edits_the_draft_of_their_organisation(client, make_request, colleague):
    request = make_request(State.DRAFT)
    client.force_login(colleague)
    page = client.get(reverse("portal:edit", args=[request.reference]))
    assert page.status_code == 200 and "Parcours de soins après un AVC" in page.content.decode()
    response = client.post(reverse("portal:edit", args=[request.reference]),
                           with_form_token(client, _draft_data(
                               title="Titre revu", datasets=[str(Dataset.objects.get(code="snds").pk)],
                               brings_own_data="")))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.title == "Titre revu" and not request.requires_matching
    assert list(request.datasets.values_list("code", flat=True)) == ["snds"]


def test_a_submitted_request_is_no_longer_editable_and_the_form_keeps_what_was_typed(client, make_request, applicant):
    request = make_request(State.SUBMITTED)
    client.force_login(applicant)
    assert client.get(reverse("portal:edit", args=[request.reference])).status_code == 302
    response = client.post(reverse("portal:edit", args=[request.reference]), with_form_token(client, _draft_data(title="Tentative")))
    assert response.status_code == 409
    assert "Tentative" in response.content.decode() and "Seul un brouillon se modifie" in response.content.decode()
    request.refresh_from_db()
    assert request.title == "Parcours de soins après un AVC"


def test_text_fields_are_escaped_on_every_page(client, make_request, applicant, secretariat):
    client.force_login(applicant)
    client.post(reverse("portal:create"), with_form_token(client, _draft_data(
        title=HOSTILE, summary=HOSTILE, methodology=HOSTILE, team_members=HOSTILE, public_interest=HOSTILE)))
    request = AccessRequest.objects.get()
    services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload(), kind="protocol")
    services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload(), kind="data_management_plan")
    services.submit(request_id=request.pk, actor=applicant)
    services.request_information(request_id=request.pk, actor=secretariat, question=HOSTILE)
    materialise_request(request.pk)
    for url in (reverse("portal:list"), reverse("portal:detail", args=[request.reference]),
                reverse("portal:withdraw", args=[request.reference])):
        html = client.get(url).content.decode()
        assert HOSTILE not in html, url
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html, url


# --- attachments -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, content, content_type", [
    ("protocole.pdf", PDF, "application/pdf"),
    ("plan.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("formulaire.odt", odt_bytes(), "application/vnd.oasis.opendocument.text"),
])
def test_a_pdf_docx_or_odt_piece_is_stored_privately_and_listed(client, make_request, applicant, private_media,
                                                               name, content, content_type):
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]),
                           with_form_token(client, {"kind": "protocol", "file": upload(name, content, "application/octet-stream")}))
    assert response.status_code == 302
    attachment = Attachment.objects.get(request=request)
    assert attachment.original_name == name and attachment.content_type == content_type
    assert attachment.uploaded_by == applicant and attachment.size == len(content)
    files = stored_files(private_media)
    assert len(files) == 1 and files[0].read_bytes() == content
    assert name in client.get(reverse("portal:detail", args=[request.reference])).content.decode()


@pytest.mark.parametrize("name, content, message", [
    ("protocole.pdf", b"MZ\x90\x00 not a document", "Seuls les documents PDF, ODT ou DOCX"),
    ("protocole.pdf", b"", "Le fichier est vide"),
    ("archive.docx", b"PK\x03\x04 broken zip", "Seuls les documents PDF, ODT ou DOCX"),
    ("page.html", b"<html><script>alert(1)</script></html>", "Seuls les documents PDF, ODT ou DOCX"),
])
def test_a_piece_of_the_wrong_type_or_empty_is_refused_and_nothing_is_stored(client, make_request, applicant,
                                                                           private_media, name, content, message):
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]),
                           with_form_token(client, {"kind": "protocol", "file": upload(name, content, "application/pdf")}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Attachment.objects.exists() and stored_files(private_media) == []


def test_a_piece_over_the_size_limit_is_refused_and_nothing_is_stored(client, make_request, applicant, private_media,
                                                                   settings):
    settings.MAX_ATTACHMENT_BYTES = 1024 * 1024
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]),
                           with_form_token(client, {"kind": "protocol", "file": upload("gros.pdf", PDF + b"0" * (1024 * 1024))}))
    assert response.status_code == 400
    assert "Le fichier dépasse 1 Mo" in response.content.decode()
    assert not Attachment.objects.exists() and stored_files(private_media) == []


@pytest.mark.parametrize("name", [
    "<img src=x onerror=alert(1)>.pdf", "protocole|rm -rf *.pdf", "protocole?.pdf", ".htaccess.pdf",
    "a" * 250 + ".pdf",
])
def test_a_piece_with_a_hostile_name_is_refused_with_a_clear_message_and_nothing_is_stored(
        client, make_request, applicant, private_media, name):
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]), with_form_token(client, {"kind": "protocol", "file": upload(name)}))
    assert response.status_code == 400
    assert "Le nom du fichier n&#x27;est pas accepté" in response.content.decode()
    assert not Attachment.objects.exists() and stored_files(private_media) == []


def test_the_attachment_form_refuses_control_characters_in_a_file_name():
    from portal.forms import AttachmentForm

    form = AttachmentForm({"kind": "protocol"}, {"file": upload("proto\x07col\x00.pdf")})
    assert not form.is_valid() and "file" in form.errors


def test_a_path_in_the_file_name_is_dropped_and_the_name_sanitised_inside_the_private_folder(
        client, make_request, applicant, private_media):
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]),
                           with_form_token(client, {"kind": "protocol", "file": upload("../../etc/Protocole v2 (évalué).pdf")}))
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.original_name == "Protocole-v2-evalue.pdf"
    files = stored_files(private_media)
    assert len(files) == 1 and files[0].resolve().is_relative_to(private_media.resolve())
    assert "etc" not in str(files[0].relative_to(private_media))


def test_a_piece_without_a_file_or_kind_is_refused_with_the_form_errors(client, make_request, applicant):
    request = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]), with_form_token(client, {"kind": "nonsense"}))
    assert response.status_code == 400
    assert set(response.context["attachment_form"].errors) == {"kind", "file"}


def test_no_piece_is_added_once_the_request_is_under_review(client, make_request, applicant, private_media):
    request = make_request(State.CESREES_REVIEW)
    pieces, files = Attachment.objects.count(), stored_files(private_media)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]), with_form_token(client, {"kind": "other", "file": upload()}))
    assert response.status_code == 409
    assert Attachment.objects.count() == pieces and stored_files(private_media) == files


def test_a_piece_is_added_in_answer_to_an_information_request(client, make_request, applicant):
    request = make_request(State.AWAITING_APPLICANT)
    pieces = Attachment.objects.filter(request=request).count()  # those the submission required
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[request.reference]), with_form_token(client, {"kind": "cnil_form", "file": upload()}))
    assert response.status_code == 302 and Attachment.objects.filter(request=request).count() == pieces + 1


def test_the_download_sends_the_stored_bytes_as_an_attachment_with_nosniff(client, make_request, applicant, colleague):
    request = make_request(State.DRAFT)
    content = docx_bytes()  # once: a zip holds its files' times, so two calls can differ
    attachment = services.add_attachment(request_id=request.pk, actor=applicant,
                                         uploaded=upload("plan.docx", content), kind="data_management_plan")
    client.force_login(colleague)
    response = client.get(reverse("portal:download", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == attachment.content_type
    assert response["Content-Disposition"] == 'attachment; filename="plan.docx"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_removing_a_piece_of_a_draft_deletes_the_row_and_the_file(client, make_request, applicant, private_media,
                                                                django_capture_on_commit_callbacks):
    request = make_request(State.DRAFT)
    attachment = services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload(), kind="protocol")
    assert len(stored_files(private_media)) == 1
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:remove_attachment", args=[attachment.pk]), with_form_token(client))
    assert response.status_code == 302
    assert not Attachment.objects.exists() and stored_files(private_media) == []


def test_a_piece_of_a_submitted_request_cannot_be_removed(client, make_request, applicant):
    request = make_request(State.DRAFT)
    attachment = services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload(), kind="protocol")
    complete_dossier(request, applicant)
    services.submit(request_id=request.pk, actor=applicant)
    client.force_login(applicant)
    response = client.post(reverse("portal:remove_attachment", args=[attachment.pk]), with_form_token(client))
    assert response.status_code == 409
    assert Attachment.objects.filter(pk=attachment.pk).exists()


# --- submission --------------------------------------------------------------------------------------
def test_submitting_an_incomplete_draft_lists_every_missing_item_and_changes_nothing(client, applicant):
    request = services.create_draft(actor=applicant, title="Projet")
    client.force_login(applicant)
    response = client.post(reverse("portal:submit", args=[request.reference]),
                           with_form_token(client, {"expected_state": "draft", "certify": "on"}))
    html = response.content.decode()
    assert response.status_code == 400
    for missing in ("résumé", "intérêt public", "méthodologie", "au moins une base", "protocole",
                    "plan de gestion des données"):
        assert missing in html, missing
    assert len(response.context["problems"]) == 6
    request.refresh_from_db()
    assert request.state == State.DRAFT


def test_submitting_without_certifying_is_refused(client, make_request, applicant):
    request = make_request(State.DRAFT)
    _complete(request, applicant)
    client.force_login(applicant)
    response = client.post(reverse("portal:submit", args=[request.reference]), with_form_token(client, {"expected_state": "draft"}))
    assert response.status_code == 400 and "Cochez la case de certification" in response.content.decode()
    request.refresh_from_db()
    assert request.state == State.DRAFT


def test_submitting_a_complete_draft_moves_it_to_completeness_check(client, make_request, colleague, applicant):
    request = make_request(State.DRAFT)
    _complete(request, applicant)
    client.force_login(colleague)
    response = client.post(reverse("portal:submit", args=[request.reference]),
                           with_form_token(client, {"expected_state": "draft", "certify": "on"}))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == State.SUBMITTED
    event = Event.objects.get(request=request, action="submit")
    assert event.actor == colleague and event.role == "applicant"


def test_submitting_twice_is_refused_with_a_conflict(client, make_request, applicant):
    # Two forms (two pages open): the second is refused. The same form posted twice answers the
    # first post's redirect (tests/security/test_double_submit.py).
    request = make_request(State.DRAFT)
    _complete(request, applicant)
    client.force_login(applicant)
    data = {"expected_state": "draft", "certify": "on"}
    assert client.post(reverse("portal:submit", args=[request.reference]), with_form_token(client, data)).status_code == 302
    response = client.post(reverse("portal:submit", args=[request.reference]), with_form_token(client, data))
    assert response.status_code == 409
    assert "entre-temps" in response.content.decode()
    assert Event.objects.filter(request=request, action="submit").count() == 1


# --- the request's page ------------------------------------------------------------------------------
def test_the_page_shows_the_timeline_time_per_stage_due_date_deadline_and_forecast(client, make_request, applicant):
    store_baseline({
        "submitted": 7, "cesrees_review": 35, "cnil_review": 60, "contracting": 90, "matching": 120,
        "extraction": 150, "awaiting_applicant": 10, "delivered_requests": 20})
    request = make_request(State.CNIL_REVIEW)
    materialise_request(request.pk)
    client.force_login(applicant)
    response = client.get(reverse("portal:detail", args=[request.reference]))
    html = response.content.decode()
    assert response.status_code == 200
    visits = response.context["visits"]
    assert [v.stage for v in visits] == ["submitted", "cesrees_review", "cnil_review"]
    current = response.context["current_visit"]
    assert current.stage == "cnil_review" and current.due_date is not None
    assert current.due_date.strftime("%d/%m/%Y") in html
    assert "Échéance réglementaire de l'étape" in html
    figures = response.context["figures"]
    assert figures.deadline == request.delay.deadline and figures.forecast_at is not None
    assert "Mise à disposition prévue vers le" in html
    assert "Étape 3 sur 7" in html  # submitted, CESREES, CNIL, contracting, matching, extraction, delivered
    assert "Avis du CESREES rendu" in html and "Avis : Favorable" in html  # the history


def test_without_delivered_dossiers_to_learn_from_the_page_says_the_forecast_is_not_yet_known(
        client, make_request, applicant):
    request = make_request(State.CESREES_REVIEW)
    materialise_request(request.pk)
    client.force_login(applicant)
    html = client.get(reverse("portal:detail", args=[request.reference])).content.decode()
    assert "pas encore estimable" in html and "Mise à disposition prévue vers le" not in html


def test_with_medians_from_fewer_than_20_delivered_dossiers_the_forecast_is_not_yet_known(
        client, make_request, applicant):
    store_baseline({
        "submitted": 7, "cesrees_review": 35, "cnil_review": 60, "contracting": 90, "matching": 120,
        "extraction": 150, "delivered_requests": 19})
    request = make_request(State.CNIL_REVIEW)
    materialise_request(request.pk)
    client.force_login(applicant)
    html = client.get(reverse("portal:detail", args=[request.reference])).content.decode()
    assert "pas encore estimable" in html and "Mise à disposition prévue vers le" not in html
    assert request.delay.status != "at_risk"


def test_the_page_of_a_request_waiting_on_the_applicant_shows_the_question_and_the_answer_form(
        client, make_request, applicant):
    request = make_request(State.AWAITING_APPLICANT, paused_from=State.CESREES_REVIEW)
    materialise_request(request.pk)
    client.force_login(applicant)
    response = client.get(reverse("portal:detail", args=[request.reference]))
    html = response.content.decode()
    assert "Des compléments vous sont demandés" in html and "Précisez ?" in html
    assert reverse("portal:answer", args=[request.reference]) in html
    assert "Le dossier attend votre réponse" in html


def test_answering_resumes_the_stage_that_asked(client, make_request, colleague):
    request = make_request(State.AWAITING_APPLICANT, paused_from=State.CESREES_REVIEW)
    client.force_login(colleague)
    response = client.post(reverse("portal:answer", args=[request.reference]),
                           with_form_token(client, {"expected_state": "awaiting_applicant", "answer": "Voici la précision."}))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == State.CESREES_REVIEW and request.paused_from == ""
    assert Event.objects.get(request=request, action="resume").payload == {"answer": "Voici la précision."}


def test_an_empty_answer_is_refused_and_the_request_keeps_waiting(client, make_request, applicant):
    request = make_request(State.AWAITING_APPLICANT)
    client.force_login(applicant)
    response = client.post(reverse("portal:answer", args=[request.reference]),
                           with_form_token(client, {"expected_state": "awaiting_applicant", "answer": "  "}))
    assert response.status_code == 400 and "Rédigez votre réponse" in response.content.decode()
    request.refresh_from_db()
    assert request.state == State.AWAITING_APPLICANT


def test_an_answer_to_a_request_that_moved_on_is_a_conflict_and_keeps_the_text(client, make_request, applicant):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(applicant)
    response = client.post(reverse("portal:answer", args=[request.reference]),
                           with_form_token(client, {"expected_state": "awaiting_applicant", "answer": "Ma réponse détaillée"}))
    assert response.status_code == 409
    assert "Ma réponse détaillée" in response.content.decode()
    request.refresh_from_db()
    assert request.state == State.CESREES_REVIEW


# --- withdrawal --------------------------------------------------------------------------------------
def test_withdrawing_asks_for_confirmation_then_ends_the_request(client, make_request, applicant):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(applicant)
    page = client.get(reverse("portal:withdraw", args=[request.reference]))
    assert page.status_code == 200 and "Confirmer le retrait" in page.content.decode()
    request.refresh_from_db()
    assert request.state == State.CESREES_REVIEW
    response = client.post(reverse("portal:withdraw", args=[request.reference]),
                           with_form_token(client, {"expected_state": "cesrees_review", "reason": "Financement arrêté"}))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == State.WITHDRAWN
    assert Event.objects.get(request=request, action="withdraw").comment == "Financement arrêté"


def test_withdrawing_a_request_that_moved_on_is_a_conflict(client, make_request, applicant):
    request = make_request(State.CNIL_REVIEW)
    client.force_login(applicant)
    response = client.post(reverse("portal:withdraw", args=[request.reference]), with_form_token(client, {"expected_state": "cesrees_review"}))
    assert response.status_code == 409
    request.refresh_from_db()
    assert request.state == State.CNIL_REVIEW


def test_a_finished_request_offers_no_withdrawal(client, make_request, applicant):
    request = make_request(State.WITHDRAWN)
    client.force_login(applicant)
    assert client.get(reverse("portal:withdraw", args=[request.reference])).status_code == 302
    response = client.post(reverse("portal:withdraw", args=[request.reference]), with_form_token(client, {"expected_state": "withdrawn"}))
    assert response.status_code == 409


def test_a_user_without_organisation_sees_only_the_requests_they_lead(client, make_request):
    make_request(State.DRAFT)
    loner = make_user("seul@example.org")
    mine = services.create_draft(actor=loner, title="Mon projet")
    client.force_login(loner)
    rows = client.get(reverse("portal:list")).context["rows"]
    assert [row.request.pk for row in rows] == [mine.pk]


def test_the_demo_applicant_sees_the_demo_requests_of_its_organisation(client, settings):
    from django.contrib.auth.models import User
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo", "--requests", "12", "--password", "Demo-Portail-2026!")
    demo = User.objects.get(username="demandeur@example.org")
    signed_in = client.post(reverse("login"), {"username": "demandeur@example.org", "password": "Demo-Portail-2026!"})
    assert signed_in.status_code == 302
    response = client.get(reverse("portal:list"))
    rows = response.context["rows"]
    assert response.status_code == 200
    # A third of the 12 past dossiers, the demo's own open dossiers and the one filed at seeding.
    assert len(rows) == AccessRequest.objects.filter(organisation=demo.profile.organisation).count() > 4
    for row in rows:
        assert client.get(reverse("portal:detail", args=[row.request.reference])).status_code == 200


def test_the_list_puts_what_waits_on_the_applicant_first_and_ended_requests_last(client, make_request, applicant):
    ended = make_request(State.WITHDRAWN)
    moving = make_request(State.CESREES_REVIEW)
    waiting = make_request(State.AWAITING_APPLICANT)
    draft = make_request(State.DRAFT)
    for request in (ended, moving, waiting):
        materialise_request(request.pk)
    client.force_login(applicant)
    rows = client.get(reverse("portal:list")).context["rows"]
    order = [row.request.pk for row in rows]
    assert set(order[:2]) == {waiting.pk, draft.pk}
    assert order[2:] == [moving.pk, ended.pk]
