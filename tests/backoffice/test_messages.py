"""The thread on the back office's request page, and the invitation of external experts with its
audit events (which the clocks ignore)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from access_requests import services
from access_requests.models import Event, ExpertInvitation, Message
from access_requests.selectors.clock import clock_logs, open_visit
from access_requests.workflow import REVIEWER_ROLES, Role, State
from delays.materialise import materialise_request
from delays.models import RequestDelay
from notifications.models import OutboxMessage
from tests.conftest import with_form_token
from tests.portal.conftest import upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path, monkeypatch):
    from tests.conftest import use_private_media

    return use_private_media(settings, tmp_path, monkeypatch)


def detail(client, request):
    return client.get(reverse("backoffice:detail", args=[request.reference])).content.decode()


def thread_of(html: str) -> str:
    return html.split('id="h-messages"')[1].split("</section>")[0]


# --- messages and notes -----------------------------------------------------------------------------
def test_a_reviewer_writes_to_the_applicant_with_a_document_and_sees_when_it_is_read(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["cesrees"])
    response = client.post(reverse("backoffice:post_message", args=[request.reference]), with_form_token(client, {
        "body": "Le rapporteur est désigné.", "documents": [upload("calendrier.pdf")]}))
    assert response.status_code == 303
    assert response["Location"] == reverse("backoffice:detail", args=[request.reference]) + "#messages"
    message = Message.objects.get()
    assert (message.role, message.internal, message.attachments.get().original_name) == (
        Role.CESREES, False, "calendrier.pdf")
    assert "Pas encore lu par le demandeur" in thread_of(detail(client, request))

    client.force_login(personas["colleague"])
    client.get(reverse("portal:detail", args=[request.reference]))
    client.force_login(personas["cesrees"])
    thread = thread_of(detail(client, request))
    assert re.search(r"Lu par collegue@inserm\.example \(Inserm U1018\) le \d", thread), thread
    assert "calendrier.pdf" in thread


def test_an_internal_note_is_marked_and_only_other_reviewers_readings_are_shown(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    client.post(reverse("backoffice:post_message", args=[request.reference]),
                with_form_token(client, {"body": "À relire par le référent.", "internal": "on"}))
    note = Message.objects.get()
    assert note.internal
    thread = thread_of(detail(client, request))
    assert "Note interne" in thread and "Pas encore lue par une autre personne de l&#x27;instruction" not in thread
    assert "Pas encore lue par une autre personne de l'instruction" in thread
    client.force_login(personas["cesrees"])
    detail(client, request)
    client.force_login(personas["secretariat"])
    assert re.search(r"Lu par cesrees@hdh\.example le \d", thread_of(detail(client, request)))


def test_the_applicants_messages_and_answers_show_in_the_back_office(client, personas, make_request):
    request = make_request(State.AWAITING_APPLICANT, paused_from=State.SUBMITTED)
    services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Voici la lettre.",
                                uploads=[upload("lettre.pdf")])
    client.force_login(personas["secretariat"])
    thread = thread_of(detail(client, request))
    assert "Demande de compléments" in thread and "Précisez ?" in thread
    assert "Réponse à la demande de compléments" in thread and "Voici la lettre." in thread and "lettre.pdf" in thread


def test_management_reads_the_thread_but_cannot_write_in_it(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    services.post_message(request_id=request.pk, actor=personas["secretariat"], body="Note", internal=True)
    client.force_login(personas["management"])
    html = detail(client, request)
    assert "Note" in thread_of(html) and reverse("backoffice:post_message", args=[request.reference]) not in html
    response = client.post(reverse("backoffice:post_message", args=[request.reference]),
                           with_form_token(client, {"body": "Direction"}))
    assert response.status_code == 403 and not Message.objects.filter(body="Direction").exists()


def test_the_data_holders_staff_write_only_on_their_own_requests(client, personas, make_request):
    request = make_request(State.CONTRACTING)  # SNDS and OSCOUR: the CNAM's, not the Institut Curie's
    client.force_login(personas["curie"])
    response = client.post(reverse("backoffice:post_message", args=[request.reference]),
                           with_form_token(client, {"body": "Bonjour"}))
    assert response.status_code == 404
    client.force_login(personas["cnam"])
    response = client.post(reverse("backoffice:post_message", args=[request.reference]),
                           with_form_token(client, {"body": "Convention envoyée."}))
    assert response.status_code == 303 and Message.objects.get().role == Role.DATA_HOLDER


# --- external experts ---------------------------------------------------------------------------------
def test_inviting_an_expert_writes_an_audit_event_and_the_email_and_revoking_another(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["cesrees"])
    response = client.post(reverse("backoffice:invite_expert", args=[request.reference]),
                           with_form_token(client, {"email": "expert@univ.example"}))
    assert response.status_code == 303
    invitation = ExpertInvitation.objects.get()
    invited = Event.objects.get(request=request, action="invite_expert")
    assert (invited.from_state, invited.to_state, invited.actor, invited.role) == (
        State.CESREES_REVIEW, State.CESREES_REVIEW, personas["cesrees"], Role.CESREES)
    assert invited.payload == {"invitation": invitation.pk, "email": "expert@univ.example",
                               "expires_at": invitation.expires_at.isoformat()}
    assert OutboxMessage.objects.filter(key=f"expert-invitation:{invitation.pk}", to="expert@univ.example").exists()
    html = detail(client, request)
    experts = html.split('id="h-experts"')[1].split("</section>")[0]
    assert "expert@univ.example" in experts and "ouverte" in experts and "Pas encore consulté" in experts
    history = html.split('id="h-history"')[1].split("</section>")[0]
    assert "Invitation d&#x27;un expert extérieur" in history and "Expert : expert@univ.example, jusqu" in history

    response = client.post(reverse("backoffice:revoke_expert", args=[request.reference, invitation.pk]),
                           with_form_token(client, {}))
    assert response.status_code == 303
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None and invitation.revoked_by == personas["cesrees"]
    revoked = Event.objects.get(request=request, action="revoke_expert")
    assert (revoked.from_state, revoked.to_state, revoked.payload["email"]) == (
        State.CESREES_REVIEW, State.CESREES_REVIEW, "expert@univ.example")
    # Revoking again changes nothing and writes no second event.
    services.revoke_expert_invitation(invitation_id=invitation.pk, actor=personas["cesrees"])
    assert Event.objects.filter(request=request, action="revoke_expert").count() == 1
    # The applicant's history does not show the reviewers' organisation of work.
    client.force_login(personas["applicant"])
    portal = client.get(reverse("portal:detail", args=[request.reference])).content.decode()
    assert "expert" not in portal.split('id="historique"')[1].lower()


def test_the_clocks_ignore_an_experts_invitation_and_its_revocation(personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    materialise_request(request.pk)
    before = (clock_logs([request.pk])[request.pk], RequestDelay.objects.get(request=request).current_due_date)
    visit_before = open_visit(request, before[0].transitions[-1][1])
    invited = services.invite_expert(request_id=request.pk, actor=personas["cnil"], email="expert@univ.example")
    services.revoke_expert_invitation(invitation_id=invited.invitation.pk, actor=personas["cnil"])
    materialise_request(request.pk)
    log = clock_logs([request.pk])[request.pk]
    assert (log.transitions, log.extensions, log.reasons) == (before[0].transitions, before[0].extensions,
                                                            before[0].reasons)
    assert RequestDelay.objects.get(request=request).current_due_date == before[1]
    assert open_visit(request, before[0].transitions[-1][1]) == visit_before


@pytest.mark.parametrize("email", ["", "pas-une-adresse", "a@b"])
def test_a_bad_expert_address_is_refused_and_invites_nobody(client, personas, make_request, email):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    response = client.post(reverse("backoffice:invite_expert", args=[request.reference]),
                           with_form_token(client, {"email": email}))
    assert response.status_code == 400
    assert not ExpertInvitation.objects.exists() and not Event.objects.filter(action="invite_expert").exists()


def test_only_the_reviewers_of_the_request_invite_or_revoke(client, personas, make_request):
    request = make_request(State.CONTRACTING)
    invited = services.invite_expert(request_id=request.pk, actor=personas["cnam"], email="expert@univ.example",
                                     acting_as=REVIEWER_ROLES)
    client.force_login(personas["management"])
    assert client.post(reverse("backoffice:invite_expert", args=[request.reference]),
                       with_form_token(client, {"email": "x@univ.example"})).status_code == 403
    assert client.post(reverse("backoffice:revoke_expert", args=[request.reference, invited.invitation.pk]),
                       with_form_token(client, {})).status_code == 403
    client.force_login(personas["curie"])
    assert client.post(reverse("backoffice:revoke_expert", args=[request.reference, invited.invitation.pk]),
                       with_form_token(client, {})).status_code == 404
    client.force_login(personas["applicant"])
    assert client.post(reverse("backoffice:invite_expert", args=[request.reference]),
                       with_form_token(client, {"email": "x@univ.example"})).status_code == 403
    assert ExpertInvitation.objects.count() == 1 and ExpertInvitation.objects.get().revoked_at is None
