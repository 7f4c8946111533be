"""People are shown by name and organisation ("Prénom Nom (Organisation)", accounts.people), their
email address only where one writes to them (a mailto: link); requested databases by the
catalogue's names, never its codes."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from access_requests import services
from access_requests.models import AccessRequest, HolderTask
from access_requests.workflow import Role, State
from accounts.people import PERSON_RELATIONS, attach_people, display_name, person_name
from catalog.models import DataHolder
from tests.conftest import SAMPLE_PDF, make_user, use_private_media

pytestmark = pytest.mark.django_db

NAMES = {"applicant": ("Marie", "Curie"), "secretariat": ("Paul", "Martin"), "cesrees": ("Claire", "Bernard"),
         "cnam": ("Jean", "Dupont")}


@pytest.fixture
def named(personas):
    """The personas of NAMES with their first and last names."""
    for key, (first, last) in NAMES.items():
        User.objects.filter(pk=personas[key].pk).update(first_name=first, last_name=last)
    return {key: User.objects.get(pk=user.pk) for key, user in personas.items()}


def text(response) -> str:
    assert response.status_code == 200
    return " ".join(unescape(response.content.decode()).split())


# --- the helper ---------------------------------------------------------------------------------
def test_a_person_is_their_name_and_what_they_belong_to(named):
    assert display_name(named["applicant"]) == "Marie Curie (Inserm U1018)"  # their organisation
    assert display_name(named["cnam"]) == "Jean Dupont (Caisse nationale de l'Assurance maladie (CNAM))"  # data holder
    assert display_name(named["secretariat"]) == "Paul Martin"  # belongs to neither
    assert display_name(named["applicant"], with_affiliation=False) == "Marie Curie"


def test_the_email_stands_in_only_for_a_missing_name(named, organisation):
    nameless = make_user("sans-nom@inserm.example", organisation=organisation)
    assert display_name(nameless) == "sans-nom@inserm.example (Inserm U1018)"
    no_profile = User.objects.create_user(username="x", email="x@example.org")
    assert display_name(no_profile) == "x@example.org"
    assert person_name(None) == display_name(None) == ""


def test_naming_people_costs_no_query_once_their_relations_are_joined(named, django_assert_num_queries):
    users = list(User.objects.filter(pk__in=[u.pk for u in named.values()]).select_related(*PERSON_RELATIONS))
    with django_assert_num_queries(0):
        assert "Marie Curie (Inserm U1018)" in [display_name(u) for u in users]


def test_attach_people_reads_the_people_of_every_row_in_one_query(named, make_request, django_assert_num_queries):
    first, second, draft = make_request(State.SUBMITTED), make_request(State.SUBMITTED), make_request()
    services.assign(request_id=first.pk, actor=named["secretariat"], assignee=named["secretariat"])
    rows = list(AccessRequest.objects.filter(pk__in=[first.pk, second.pk, draft.pk]).order_by("pk"))
    with django_assert_num_queries(1):
        attach_people(rows, "applicant", "assignee")
    with django_assert_num_queries(0):  # named without a query, an empty key stays None
        assert [(display_name(r.applicant), display_name(r.assignee)) for r in rows] == [
            ("Marie Curie (Inserm U1018)", "Paul Martin"), ("Marie Curie (Inserm U1018)", ""),
            ("Marie Curie (Inserm U1018)", "")]
    # No query at all when no row names anyone.
    unassigned = list(AccessRequest.objects.filter(pk__in=[second.pk, draft.pk]))
    with django_assert_num_queries(0):
        attach_people(unassigned, "assignee")
        attach_people([], "assignee")
        assert [r.assignee for r in unassigned] == [None, None]
    # Rows of another model: a holder task's assignee.
    delivered = make_request(State.CONTRACTING)
    task = HolderTask.objects.filter(request=delivered).order_by("pk").first()
    services.assign_task(task_id=task.pk, actor=named["cnam"], assignee=named["cnam"])
    tasks = list(HolderTask.objects.filter(request=delivered).order_by("pk"))
    with django_assert_num_queries(1):
        attach_people(tasks, "assignee")
    with django_assert_num_queries(0):
        assert display_name(tasks[0].assignee) == "Jean Dupont (Caisse nationale de l'Assurance maladie (CNAM))"


def test_attach_people_shows_a_person_deleted_meanwhile_as_nobody_and_refuses_other_keys(
        named, make_request, django_assert_num_queries):
    request = make_request(State.SUBMITTED)
    colleague = make_user("second-secretariat@hdh.example", role=Role.SECRETARIAT)
    services.assign(request_id=request.pk, actor=named["secretariat"], assignee=colleague)
    row = AccessRequest.objects.get(pk=request.pk)
    colleague.delete()  # between the row's query and its people's
    attach_people([row], "applicant", "assignee")
    with django_assert_num_queries(0):
        assert (display_name(row.applicant), row.assignee) == ("Marie Curie (Inserm U1018)", None)
    with pytest.raises(TypeError):
        attach_people([row], "organisation")  # not a user


# --- on the pages -------------------------------------------------------------------------------
@pytest.fixture
def reviewed(named, make_request):
    """With the CESREES, assigned to Claire Bernard, with a note by Paul Martin."""
    request = make_request(State.CESREES_REVIEW)
    services.assign(request_id=request.pk, actor=named["secretariat"], assignee=named["cesrees"])
    services.post_message(request_id=request.pk, actor=named["secretariat"], body="Dossier solide.", internal=True)
    return request


def test_the_back_office_names_the_applicant_the_actors_the_assignee_and_the_note_author(client, named, reviewed):
    client.force_login(named["secretariat"])
    html = text(client.get(reverse("backoffice:detail", args=[reviewed.reference])))

    applicant = html.split("Porteur de projet</dt><dd>")[1].split("</dd>")[0]
    assert applicant == ('Marie Curie (Inserm U1018) — '
                         '<a href="mailto:porteur@inserm.example">porteur@inserm.example</a>')  # one writes to them
    history = html.split('id="h-history"')[1].split("</section>")[0]
    assert "· Marie Curie (Inserm U1018) (Demandeur)" in history
    assert "· Paul Martin (Secrétariat du HDH)" in history
    assert "Attribuée à Claire Bernard" in history
    notes = html.split('id="h-messages"')[1].split("</section>")[0]
    assert "<strong>Paul Martin</strong> (Secrétariat du HDH)" in notes
    assert '<h2 id="h-assign" class="fr-h4">Instructeur</h2> <p>Claire Bernard</p>' in html
    # No address shown anywhere else: not the reviewers', and the applicant's only in the mailto link.
    assert re.findall(r"[\w.-]+@[\w.-]+\.example", html) == ["porteur@inserm.example", "porteur@inserm.example"]


def test_the_queue_names_the_assignee_and_the_databases(client, named, reviewed):
    client.force_login(named["secretariat"])
    html = text(client.get(reverse("backoffice:queue"), {"scope": "all"}))

    row = html.split(f">{reviewed.reference}</strong>")[1].split("</tr>")[0]
    assert "<td>OSCOUR — passages aux urgences, SNDS base principale</td>" in row  # names, never "snds, oscour"
    assert not re.search(r"\b(snds|oscour)\b", row)
    assert row.rstrip().endswith("<td>Claire Bernard</td>")
    assert "cesrees@hdh.example" not in html


def test_the_assignment_form_offers_people_by_name(client, named, reviewed):
    client.force_login(named["secretariat"])
    html = text(client.get(reverse("backoffice:detail", args=[reviewed.reference])))
    select = html.split('name="assignee"')[1].split("</select>")[0]
    assert ">Claire Bernard</option>" in select
    assert "@" not in select


def test_the_portal_names_the_project_leader_and_who_uploaded_a_document(client, named, make_request, settings,
                                                                        tmp_path, monkeypatch):
    use_private_media(settings, tmp_path, monkeypatch)
    request = make_request(State.DRAFT)
    services.add_attachment(request_id=request.pk, actor=named["applicant"], kind="protocol",
                            uploaded=SimpleUploadedFile("protocole.pdf", SAMPLE_PDF, content_type="application/pdf"))
    client.force_login(named["colleague"])
    html = text(client.get(reverse("portal:detail", args=[request.reference])))

    assert "Porteur du projet</dt><dd>Marie Curie (Inserm U1018)</dd>" in html
    assert '<span class="fr-text--xs">Marie Curie (Inserm U1018)</span>' in html  # who uploaded the protocol
    assert "porteur@inserm.example" not in html


def test_the_organisation_page_lists_members_by_name_with_a_link_to_write_to_them(client, named):
    client.force_login(named["colleague"])
    html = text(client.get(reverse("accounts:organisation")))
    assert ('<li>Marie Curie — <a href="mailto:porteur@inserm.example">porteur@inserm.example</a></li>' in html)


def test_a_data_holder_member_is_named_with_their_holder(named):
    assert named["cnam"].profile.data_holder == DataHolder.objects.get(code="cnam")
    assert display_name(named["cnam"]).endswith("(Caisse nationale de l'Assurance maladie (CNAM))")
