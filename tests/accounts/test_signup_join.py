"""Joining an organisation: its creator joins a new one; anyone else asks, and a member of it or
the secretariat decides. Until then the newcomer has no organisation and sees none of its dossiers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from access_requests import services as request_services
from access_requests.workflow import State
from accounts import services
from accounts.models import MembershipRequest, MembershipStatus, Organisation, Profile
from hdh_access.lib.errors import ActionNotPermitted, ConcurrentUpdate, InvalidInput, NotFound
from notifications.models import OutboxMessage
from tests.accounts.helpers import SITE, ask_to_join, confirm, sign_up
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

def mails_to(address: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(to=address).order_by("pk"))


# --- at sign-up ---------------------------------------------------------------------------------------
def test_a_new_organisation_is_created_and_joined_by_its_creator():
    outcome = sign_up("ada@univ.example", "  Équipe\u00a0Nouvelle ")
    profile = Profile.objects.get(user_id=outcome.user_id)
    assert profile.organisation.name == "Équipe Nouvelle" and profile.organisation.from_sign_up
    assert not MembershipRequest.objects.exists()


@pytest.mark.parametrize("email", ["collegue2@inserm.example", "intrus@gmail.example"])
def test_an_existing_organisation_is_never_joined_at_sign_up_whatever_the_mail_domain(applicant, email):
    outcome = sign_up(email, "INSERM U1018")
    assert Profile.objects.get(user_id=outcome.user_id).organisation is None
    membership = MembershipRequest.objects.get(user_id=outcome.user_id)
    assert membership.organisation == applicant.profile.organisation and membership.status == MembershipStatus.PENDING
    assert Organisation.objects.count() == 1


def test_an_organisation_without_members_is_not_joined_directly_either():
    # Made by an administrator or the import, perhaps with dossiers: nobody vouches, so the secretariat decides.
    organisation = Organisation.objects.create(name="CHU de Nantes")
    outcome = sign_up("quelquun@chu-nantes.example", "chu de nantes")
    assert Profile.objects.get(user_id=outcome.user_id).organisation is None
    assert MembershipRequest.objects.get(user_id=outcome.user_id).organisation == organisation


def test_a_pending_newcomer_sees_none_of_the_organisation_s_dossiers(client, make_request):
    request = make_request(State.SUBMITTED)
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    client.force_login(membership.user)
    listing = client.get(reverse("portal:list"))
    assert listing.status_code == 200 and request.reference not in listing.content.decode()
    assert client.get(reverse("portal:detail", args=[request.reference])).status_code == 404


def test_members_hear_of_a_request_to_join_once_the_address_is_confirmed_not_before(applicant, colleague):
    Profile.objects.filter(user=colleague).update(language="en")
    make_user("parti@inserm.example", organisation=applicant.profile.organisation, is_active=False)
    outcome = sign_up("nouvelle@inserm.example", "Inserm U1018", first_name="Nadia")
    assert mails_to(applicant.email) == [] and mails_to(colleague.email) == []  # anyone can type an address
    confirm(outcome.user_id)
    [french] = mails_to(applicant.email)
    [english] = mails_to(colleague.email)
    assert "Demande de rattachement à « Inserm U1018 »" in french.subject
    assert "nouvelle@inserm.example" in french.text and f"{SITE}/accounts/organisation/" in french.text
    assert english.subject.startswith("Request to join") and "wants to join" in english.text
    assert mails_to("parti@inserm.example") == []  # deactivated members are not asked


def test_the_confirmation_email_says_the_organisation_must_accept_the_newcomer(applicant):
    sign_up("nouvelle@inserm.example", "Inserm U1018")
    [message] = mails_to("nouvelle@inserm.example")
    assert "est déjà inscrite" in message.text and "rattaché à l'organisation" not in message.text


# --- deciding -------------------------------------------------------------------------------------------
def test_a_member_approves_and_the_newcomer_joins_sees_the_dossiers_and_is_told(client, applicant, make_request):
    request = make_request(State.SUBMITTED)
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    decided = services.approve_membership(actor=applicant, membership_id=membership.pk)
    assert decided.status == MembershipStatus.APPROVED and decided.decided_by == applicant and decided.decided_at
    newcomer = User.objects.get(username="nouvelle@inserm.example")
    assert newcomer.profile.organisation == applicant.profile.organisation
    [_confirmation, told] = mails_to(newcomer.email)
    assert "Vous avez rejoint « Inserm U1018 »" in told.subject and f"{SITE}/portal/" in told.text
    client.force_login(newcomer)
    assert client.get(reverse("portal:detail", args=[request.reference])).status_code == 200


def test_a_member_refuses_and_the_newcomer_stays_without_organisation_and_is_told(applicant):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    services.refuse_membership(actor=applicant, membership_id=membership.pk)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.REFUSED
    assert Profile.objects.get(user=membership.user).organisation is None
    assert "refusé" in mails_to("nouvelle@inserm.example")[-1].subject


def test_the_secretariat_may_decide_for_an_organisation_it_does_not_belong_to(secretariat):
    Organisation.objects.create(name="CHU de Nantes")
    membership = ask_to_join("quelquun@chu-nantes.example", "CHU de Nantes")
    services.approve_membership(actor=secretariat, membership_id=membership.pk)
    assert Profile.objects.get(user=membership.user).organisation.name == "CHU de Nantes"


@pytest.mark.parametrize("who", ["outsider", "requester", "cesrees", "anonymous"])
def test_only_members_and_the_secretariat_decide(personas, applicant, who):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    actor = {"requester": membership.user, "anonymous": None}.get(who) or personas.get(who)
    for decide in (services.approve_membership, services.refuse_membership):
        with pytest.raises(ActionNotPermitted):
            decide(actor=actor, membership_id=membership.pk)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING and membership.user.profile.organisation is None


def test_a_secretariat_member_cannot_approve_their_own_request(secretariat):
    Organisation.objects.create(name="CHU de Nantes")
    Profile.objects.filter(user=secretariat).delete()
    MembershipRequest.objects.create(user=secretariat, organisation=Organisation.objects.get())
    with pytest.raises(ActionNotPermitted):
        services.approve_membership(actor=secretariat, membership_id=MembershipRequest.objects.get().pk)


def test_a_decided_request_is_not_decided_again(applicant, colleague):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    services.refuse_membership(actor=applicant, membership_id=membership.pk)
    with pytest.raises(ConcurrentUpdate):
        services.approve_membership(actor=colleague, membership_id=membership.pk)
    assert Profile.objects.get(user=membership.user).organisation is None


def test_an_unconfirmed_newcomer_cannot_be_approved_and_an_unknown_request_is_not_found(applicant):
    outcome = sign_up("nouvelle@inserm.example", "Inserm U1018")
    membership = MembershipRequest.objects.get(user_id=outcome.user_id)
    with pytest.raises(InvalidInput):
        services.approve_membership(actor=applicant, membership_id=membership.pk)
    with pytest.raises(NotFound):
        services.approve_membership(actor=applicant, membership_id=membership.pk + 1000)


def test_drafts_opened_while_waiting_join_the_organisation_on_approval(applicant, colleague):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    draft = request_services.create_draft(actor=membership.user, title="Projet en attente")
    assert draft.organisation is None and not draft.is_applicant(colleague)
    services.approve_membership(actor=applicant, membership_id=membership.pk)
    draft.refresh_from_db()
    assert draft.organisation == applicant.profile.organisation and draft.applicant == membership.user


# --- the member's page ------------------------------------------------------------------------------------
def test_the_organisation_page_lists_requests_to_join_with_buttons_for_members(client, applicant):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    ask_unconfirmed = sign_up("pas-confirme@inserm.example", "Inserm U1018")
    client.force_login(applicant)
    page = client.get(reverse("accounts:organisation"))
    html = page.content.decode()
    assert page.status_code == 200 and "nouvelle@inserm.example" in html and "porteur@inserm.example" in html
    assert reverse("accounts:approve_membership", args=[membership.pk]) in html
    assert "pas-confirme@inserm.example" not in html and ask_unconfirmed.created


def test_the_newcomer_s_page_says_the_request_waits(client):
    Organisation.objects.create(name="Inserm U1018")
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    client.force_login(membership.user)
    html = client.get(reverse("accounts:organisation")).content.decode()
    assert "attend l'accord" in html and "Accepter" not in html
    assert "rattachement en attente" in client.get(reverse("accounts:profile")).content.decode()


def test_a_member_approves_from_the_page(client, applicant):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    client.force_login(applicant)
    response = client.post(reverse("accounts:approve_membership", args=[membership.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:organisation")
    assert Profile.objects.get(user=membership.user).organisation == applicant.profile.organisation


def test_a_member_refuses_from_the_page(client, applicant):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    client.force_login(applicant)
    assert client.post(reverse("accounts:refuse_membership", args=[membership.pk])).status_code == 302
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.REFUSED


def test_an_outsider_posting_a_decision_gets_403_and_nothing_changes(client, applicant, outsider):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    client.force_login(outsider)
    assert client.post(reverse("accounts:approve_membership", args=[membership.pk])).status_code == 403
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING


def test_the_decision_urls_refuse_anonymous_get_and_posts_without_csrf(client, applicant):
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U1018")
    url = reverse("accounts:approve_membership", args=[membership.pk])
    assert client.post(url)["Location"].startswith(reverse("login"))
    assert client.get(reverse("accounts:organisation"))["Location"].startswith(reverse("login"))
    client.force_login(applicant)
    assert client.get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(applicant)
    assert strict.post(url).status_code == 403
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING
