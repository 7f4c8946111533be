"""An external expert's read-only view of one dossier (backoffice/expert.py): valid, expired,
revoked, another dossier, an unknown link; never an internal note; a 404 or 410, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access_requests import services
from access_requests.models import ExpertInvitation
from access_requests.workflow import REVIEWER_ROLES, State
from hdh_access.lib.errors import ActionNotPermitted
from tests.conftest import use_private_media, with_form_token
from tests.portal.conftest import PDF, upload

pytestmark = pytest.mark.django_db
NOTE = "Avis interne : méthodologie discutable."


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path, monkeypatch):
    return use_private_media(settings, tmp_path, monkeypatch)


@pytest.fixture
def reviewed(make_request, personas):
    """At the CESREES, with a document of the dossier, a message to the applicant with a document,
    the applicant's answer, and an internal note with a document."""
    request = make_request(State.CESREES_REVIEW)
    services.post_message(request_id=request.pk, actor=personas["cesrees"], body="Précisez la taille de la cohorte.",
                          uploads=[upload("questions.pdf")])
    services.post_message(request_id=request.pk, actor=personas["applicant"], body="Environ 12 000 patients.")
    services.post_message(request_id=request.pk, actor=personas["cesrees"], body=NOTE, internal=True,
                          uploads=[upload("avis-interne.pdf")])
    return request


def invite(request, personas, email="expert@univ.example"):
    return services.invite_expert(request_id=request.pk, actor=personas["cesrees"], email=email,
                                  acting_as=REVIEWER_ROLES)


def open_link(client, token):
    return client.get(reverse("expert:open", args=[token]))


# --- valid ----------------------------------------------------------------------------------------
def test_the_link_opens_the_dossier_read_only_without_the_internal_notes(client, personas, reviewed):
    invited = invite(reviewed, personas)
    response = open_link(client, invited.token)
    assert response.status_code == 302
    assert response["Location"] == reverse("expert:dossier", args=[invited.invitation.pk])
    assert response["Referrer-Policy"] == "no-referrer" and "no-cache" in response["Cache-Control"]

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert reviewed.title in html and "Précisez la taille de la cohorte." in html and "Environ 12 000 patients." in html
    assert "questions.pdf" in html
    assert NOTE not in html and "avis-interne.pdf" not in html
    assert invited.token not in html  # the token stays out of the page
    assert "<form" not in html.split('id="h-dossier"')[1]  # read-only: nothing to post
    assert ExpertInvitation.objects.get().last_seen_at is not None


def test_the_expert_downloads_the_dossiers_documents_but_not_an_internal_notes(client, personas, reviewed):
    invited = invite(reviewed, personas)
    open_link(client, invited.token)
    shown = reviewed.messages.get(body__startswith="Précisez").attachments.get()
    note = reviewed.messages.get(internal=True).attachments.get()
    response = client.get(reverse("expert:download", args=[invited.invitation.pk, shown.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert client.get(reverse("expert:download", args=[invited.invitation.pk, note.pk])).status_code == 404


# --- ended ----------------------------------------------------------------------------------------
def test_the_access_lasts_hdh_expert_access_days_fourteen_by_default(personas, reviewed, settings):
    assert settings.HDH_EXPERT_ACCESS_DAYS == 14
    invitation = invite(reviewed, personas).invitation
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=14)


def test_an_expired_link_says_so_with_a_410(client, personas, reviewed, settings):
    settings.HDH_EXPERT_ACCESS_DAYS = 3  # within the session's life (two weeks), so its page says it too
    invited = invite(reviewed, personas)
    open_link(client, invited.token)
    with time_machine.travel(invited.invitation.expires_at + dt.timedelta(seconds=1), tick=False):
        for response in (open_link(client, invited.token),
                         client.get(reverse("expert:dossier", args=[invited.invitation.pk]))):
            assert response.status_code == 410
            html = response.content.decode()
            assert "Ce lien n&#x27;est plus valable" in html or "Ce lien n'est plus valable" in html
            assert "a expiré le" in html and reviewed.title not in html


def test_a_revoked_link_ends_the_access_at_once_even_in_an_open_session(client, personas, reviewed):
    invited = invite(reviewed, personas)
    open_link(client, invited.token)
    assert client.get(reverse("expert:dossier", args=[invited.invitation.pk])).status_code == 200
    services.revoke_expert_invitation(invitation_id=invited.invitation.pk, actor=personas["cesrees"])
    document = reviewed.messages.get(body__startswith="Précisez").attachments.get()
    for response in (client.get(reverse("expert:dossier", args=[invited.invitation.pk])),
                     client.get(reverse("expert:download", args=[invited.invitation.pk, document.pk])),
                     open_link(client, invited.token)):
        assert response.status_code == 410
        assert "mis fin à votre accès" in response.content.decode()


# --- another dossier, unknown links -------------------------------------------------------------------
def test_an_invitation_opens_its_own_dossier_only(client, personas, reviewed, make_request):
    other = make_request(State.CNIL_REVIEW)
    services.post_message(request_id=other.pk, actor=personas["cnil"], body="Autre dossier.",
                          uploads=[upload("autre.pdf")])
    other_document = other.messages.get().attachments.get()
    mine = invite(reviewed, personas)
    theirs = services.invite_expert(request_id=other.pk, actor=personas["cnil"], email="autre@univ.example")
    open_link(client, mine.token)
    # Another invitation's page, without its link: 404; another dossier's document through mine: 404.
    assert client.get(reverse("expert:dossier", args=[theirs.invitation.pk])).status_code == 404
    assert client.get(reverse("expert:download", args=[mine.invitation.pk, other_document.pk])).status_code == 404
    assert "Autre dossier." not in client.get(reverse("expert:dossier", args=[mine.invitation.pk])).content.decode()


@pytest.mark.parametrize("token", ["inconnu", "x" * 43, "a" * 500, "dossiers"])
def test_an_unknown_link_is_a_404(client, personas, reviewed, token):
    invite(reviewed, personas)
    assert open_link(client, token).status_code == 404


def test_a_dossier_page_opened_without_the_link_is_a_404(client, personas, reviewed):
    invited = invite(reviewed, personas)
    assert client.get(reverse("expert:dossier", args=[invited.invitation.pk])).status_code == 404
    assert client.get(reverse("expert:dossier", args=[999999])).status_code == 404


def test_the_expert_pages_read_in_english(client, personas, reviewed, language_restored):
    invited = invite(reviewed, personas)
    open_link(client, invited.token)
    html = client.get(reverse("expert:dossier", args=[invited.invitation.pk]), HTTP_ACCEPT_LANGUAGE="en"
                      ).content.decode()
    assert "Read-only access, open to you until" in html and "Consultation en lecture seule" not in html
    services.revoke_expert_invitation(invitation_id=invited.invitation.pk, actor=personas["cesrees"])
    ended = client.get(reverse("expert:dossier", args=[invited.invitation.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert ended.status_code == 410 and "This link is no longer valid" in ended.content.decode()


def test_an_invitation_is_active_until_it_expires_or_is_revoked(personas, reviewed):
    invitation = invite(reviewed, personas).invitation
    assert invitation.is_active()
    assert not invitation.is_active(invitation.expires_at)
    invitation.revoked_at = timezone.now()
    assert not invitation.is_active()


# --- who invites and revokes ------------------------------------------------------------------------
def test_only_the_stage_owners_and_the_secretariat_invite_and_revoke_an_expert(client, personas, reviewed):
    # At the CESREES stage: the CESREES and the secretariat may; a data holder may not, though it
    # reads the dossier (its datasets are asked for).
    invited = invite(reviewed, personas)
    services.invite_expert(request_id=reviewed.pk, actor=personas["secretariat"], email="autre@univ.example",
                           acting_as=REVIEWER_ROLES)
    with pytest.raises(ActionNotPermitted):
        services.invite_expert(request_id=reviewed.pk, actor=personas["cnam"], email="ami@cnam.example",
                               acting_as=REVIEWER_ROLES)
    with pytest.raises(ActionNotPermitted):
        services.revoke_expert_invitation(invitation_id=invited.invitation.pk, actor=personas["cnam"],
                                          acting_as=REVIEWER_ROLES)
    client.force_login(personas["cnam"])
    html = client.get(reverse("backoffice:detail", args=[reviewed.reference])).content.decode()
    assert "Inviter un expert" not in html and "Révoquer l'accès" not in html
    response = client.post(reverse("backoffice:revoke_expert", args=[reviewed.reference, invited.invitation.pk]),
                           with_form_token(client, {}))
    assert response.status_code == 403
    invited.invitation.refresh_from_db()
    assert invited.invitation.revoked_at is None
    # The team that owns the stage revokes any invitation.
    services.revoke_expert_invitation(invitation_id=invited.invitation.pk, actor=personas["secretariat"],
                                      acting_as=REVIEWER_ROLES)
    invited.invitation.refresh_from_db()
    assert invited.invitation.revoked_by == personas["secretariat"]
