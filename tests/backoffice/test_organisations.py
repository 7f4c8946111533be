"""The secretariat's organisations page: requests to join, every organisation, merging duplicates.

Only the secretariat and administrators: other reviewers and management get 403, applicants 403,
anonymous visitors the login page. Every refusal writes nothing.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services as request_services
from access_requests.models import AccessRequest
from access_requests.workflow import State
from accounts import services
from accounts.models import MembershipRequest, MembershipStatus, Organisation, Profile
from hdh_access.lib.errors import ActionNotPermitted, InvalidInput
from tests.accounts.helpers import ask_to_join
from tests.backoffice.helpers import backoffice_settings  # noqa: F401  (autouse)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

MANAGERS = ["secretariat", "superuser"]
REFUSED = ["applicant", "outsider", "cesrees", "cnil", "cnam", "platform", "management"]


def login(client, personas, who):
    client.logout()
    if who != "anonymous":
        client.force_login(personas[who])
    return client


@pytest.fixture
def duplicate(personas, organisation, make_request):
    """"INSERM U1018" (a duplicate, with a member, a request, a SIRET and a request to join) beside
    "Inserm U1018" (the applicant's, with its own request)."""
    kept_request = make_request(State.DRAFT)
    twin = Organisation.objects.create(name="Inserm U-1018", siret="18003502400012")
    member = make_user("membre@inserm.example", organisation=twin)
    twin_request = request_services.create_draft(actor=member, title="Cohorte du doublon")
    membership = ask_to_join("nouvelle@inserm.example", "Inserm U-1018")
    return {"twin": twin, "member": member, "twin_request": twin_request, "kept_request": kept_request,
            "membership": membership}


# --- who opens the page ---------------------------------------------------------------------------------
@pytest.mark.parametrize("who", MANAGERS)
def test_the_secretariat_and_administrators_open_the_organisations_page(client, personas, duplicate, who):
    page = login(client, personas, who).get(reverse("backoffice:organisations"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Inserm U-1018" in html and "nouvelle@inserm.example" in html
    assert reverse("backoffice:approve_membership", args=[duplicate["membership"].pk]) in html
    assert reverse("backoffice:organisations") in client.get(reverse("backoffice:queue")).content.decode()


@pytest.mark.parametrize("who", REFUSED)
def test_everyone_else_signed_in_gets_403(client, personas, duplicate, who):
    page = login(client, personas, who).get(reverse("backoffice:organisations"))
    assert page.status_code == 403 and "nouvelle@inserm.example" not in page.content.decode()


def test_the_other_reviewers_are_told_the_page_is_the_secretariat_s_and_see_no_link_to_it(client, personas):
    login(client, personas, "cesrees")
    page = client.get(reverse("backoffice:organisations"))
    assert "réservée au secrétariat" in page.content.decode()
    assert reverse("backoffice:organisations") not in client.get(reverse("backoffice:queue")).content.decode()


def test_anonymous_visitors_go_to_the_login_page(client, duplicate):
    responses = [client.get(reverse("backoffice:organisations")),
                 _merge(client, duplicate["twin"], Organisation.objects.get(name="Inserm U1018")),
                 client.post(reverse("backoffice:approve_membership", args=[duplicate["membership"].pk]))]
    for response in responses:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert MembershipRequest.objects.get().status == MembershipStatus.PENDING
    assert Organisation.objects.filter(pk=duplicate["twin"].pk).exists()


def test_the_page_runs_the_same_number_of_queries_for_two_and_for_many_organisations(client, personas):
    login(client, personas, "secretariat")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("backoffice:organisations")).status_code == 200
        return len(queries.captured_queries)

    Organisation.objects.create(name="Une")
    ask_to_join("a@une.example", "Une")
    count()  # a first page caches the site configuration (as on a server)
    small = count()
    for n in range(12):
        organisation = Organisation.objects.create(name=f"Organisation {n}")
        make_user(f"m{n}@org.example", organisation=organisation)
        ask_to_join(f"n{n}@org.example", f"Organisation {n}")
    assert count() == small


def test_the_list_counts_members_requests_and_pending_requests(client, personas, duplicate):
    login(client, personas, "secretariat")
    page = client.get(reverse("backoffice:organisations"))
    row = next(o for o in page.context["page"] if o.pk == duplicate["twin"].pk)
    assert (row.member_count, row.request_count, row.pending_count) == (1, 1, 1)


# --- deciding requests to join -------------------------------------------------------------------------
def test_the_secretariat_approves_a_request_to_join_from_the_page(client, personas, duplicate):
    membership = duplicate["membership"]
    login(client, personas, "secretariat")
    response = client.post(reverse("backoffice:approve_membership", args=[membership.pk]))
    assert response.status_code == 303 and response["Location"] == reverse("backoffice:organisations")
    assert Profile.objects.get(user=membership.user).organisation == duplicate["twin"]


def test_the_secretariat_refuses_a_request_to_join_from_the_page(client, personas, duplicate):
    membership = duplicate["membership"]
    login(client, personas, "secretariat")
    assert client.post(reverse("backoffice:refuse_membership", args=[membership.pk])).status_code == 303
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.REFUSED and membership.decided_by == personas["secretariat"]


@pytest.mark.parametrize("who", ["cesrees", "management", "applicant"])
def test_other_roles_cannot_decide_from_the_back_office(client, personas, duplicate, who):
    membership = duplicate["membership"]
    login(client, personas, who)
    assert client.post(reverse("backoffice:approve_membership", args=[membership.pk])).status_code == 403
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING


# --- merging ------------------------------------------------------------------------------------------
def _merge(client, source, target):
    return client.post(reverse("backoffice:merge_organisations"), {"source": source.pk, "target": target.pk})


@pytest.mark.parametrize("who", MANAGERS)
def test_the_secretariat_merges_a_duplicate_its_members_requests_and_requests_to_join_move(
        client, personas, duplicate, organisation, who):
    twin = duplicate["twin"]
    response = _merge(login(client, personas, who), twin, organisation)
    assert response.status_code == 303
    assert not Organisation.objects.filter(pk=twin.pk).exists()
    assert Profile.objects.get(user=duplicate["member"]).organisation == organisation
    assert AccessRequest.objects.get(pk=duplicate["twin_request"].pk).organisation == organisation
    assert AccessRequest.objects.get(pk=duplicate["kept_request"].pk).organisation == organisation
    assert MembershipRequest.objects.get(pk=duplicate["membership"].pk).organisation == organisation
    organisation.refresh_from_db()
    assert organisation.siret == "18003502400012"
    message = [str(m) for m in client.get(reverse("backoffice:organisations")).context["messages"]]
    assert message == ["« Inserm U-1018 » est fusionnée dans « Inserm U1018 » : 1 membre(s), 1 demande(s) "
                       "d'accès et 1 demande(s) de rattachement déplacés."]


def test_after_a_merge_the_duplicate_s_member_sees_the_kept_organisation_s_dossiers(client, personas, duplicate,
                                                                                    organisation):
    _merge(login(client, personas, "secretariat"), duplicate["twin"], organisation)
    login(client, {"member": duplicate["member"]}, "member")
    listing = client.get(reverse("portal:list")).content.decode()
    assert duplicate["kept_request"].reference in listing and duplicate["twin_request"].reference in listing


def test_merging_an_organisation_into_itself_is_a_form_error(client, personas, organisation):
    response = _merge(login(client, personas, "secretariat"), organisation, organisation)
    assert response.status_code == 400 and "deux organisations différentes" in response.content.decode()
    assert Organisation.objects.filter(pk=organisation.pk).exists()


@pytest.mark.parametrize("who", REFUSED)
def test_other_roles_cannot_merge(client, personas, duplicate, organisation, who):
    response = _merge(login(client, personas, who), duplicate["twin"], organisation)
    assert response.status_code == 403
    assert Organisation.objects.filter(pk=duplicate["twin"].pk).exists()
    assert Profile.objects.get(user=duplicate["member"]).organisation == duplicate["twin"]


def test_the_merge_service_refuses_other_roles_and_merging_into_itself(personas, duplicate, organisation):
    before = Organisation.objects.count()
    for who in ("cesrees", "management", "applicant"):
        with pytest.raises(ActionNotPermitted):
            services.merge_organisations(actor=personas[who], source=duplicate["twin"], target=organisation)
    with pytest.raises(ActionNotPermitted):
        services.merge_organisations(actor=None, source=duplicate["twin"], target=organisation)
    with pytest.raises(InvalidInput):
        services.merge_organisations(actor=personas["secretariat"], source=organisation, target=organisation)
    assert Organisation.objects.count() == before
