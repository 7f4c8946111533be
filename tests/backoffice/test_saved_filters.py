"""Saved filters: a reviewer saves the queue's filters under a name, reopens them from their link,
renames and deletes them; nobody else reaches them; a stored value that no longer validates opens
with a message naming it, never a 500."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services as request_services
from access_requests.workflow import Route, State
from backoffice import services
from backoffice.forms import QueueFilterForm, normalised_query
from backoffice.models import SavedFilter
from catalog.models import Dataset
from hdh_access.lib.errors import ActionNotPermitted, InvalidInput, NotFound
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)
from tests.conftest import datasets, with_form_token

QUEUE = reverse("backoffice:queue")
FILTERS = reverse("backoffice:saved_filters")


def save(client, name: str, query: str = ""):
    url = reverse("backoffice:save_filter") + (f"?{query}" if query else "")
    return client.post(url, with_form_token(client, {"name": name}))


def refs(response) -> set[str]:
    return {row["request"].reference for row in response.context["rows"]}


@pytest.fixture
def dossiers(make_request, personas):
    """Two dossiers at the secretariat: a standard one (SNDS + OSCOUR), a reference methodology (SNDS)."""
    standard = make_request(State.SUBMITTED)
    mr = make_request(State.SUBMITTED, codes=("snds",), route=Route.REFERENCE_METHODOLOGY)
    materialise_all()
    return {"standard": standard, "mr": mr}


# --- the query stored ---------------------------------------------------------------------------
def test_the_stored_query_holds_only_the_validated_filters_in_the_forms_order(db):
    snds = datasets("snds")[0]
    form = QueueFilterForm(QueryDict(
        f"sort=reference&page=3&utm=x&state=bogus&q=++cancer++&dataset={snds.pk}&route=&submitted_from=2025-01-05"
        "&assignee=me"))
    assert normalised_query(form) == (
        f"q=cancer&dataset={snds.pk}&assignee=me&submitted_from=2025-01-05&sort=reference")


def test_the_same_filters_give_the_same_query_whatever_their_order_or_blanks(db):
    first = QueueFilterForm(QueryDict("route=standard&q=avc&state=&badge="))
    second = QueueFilterForm(QueryDict("q=avc&page=2&route=standard&sort=due"))
    assert normalised_query(first) == normalised_query(second) == "q=avc&route=standard"


# --- services -----------------------------------------------------------------------------------
def test_a_reviewer_saves_renames_and_deletes_a_filter(personas):
    saved = services.save_filter(actor=personas["cnil"], name="  CNIL   en retard ", query="status=late")
    assert (saved.user, saved.name, saved.query) == (personas["cnil"], "CNIL en retard", "status=late")
    renamed = services.rename_filter(actor=personas["cnil"], filter_id=saved.pk, name="Retards")
    assert SavedFilter.objects.get(pk=saved.pk).name == renamed.name == "Retards"
    assert services.delete_filter(actor=personas["cnil"], filter_id=saved.pk) == "Retards"
    assert not SavedFilter.objects.exists()


def test_a_name_is_unique_per_reviewer_not_across_reviewers(personas):
    services.save_filter(actor=personas["cnil"], name="Retards", query="status=late")
    services.save_filter(actor=personas["cesrees"], name="Retards", query="status=late")
    with pytest.raises(InvalidInput, match="déjà un filtre nommé « Retards »"):
        services.save_filter(actor=personas["cnil"], name="Retards", query="")
    other = services.save_filter(actor=personas["cnil"], name="Autre", query="")
    with pytest.raises(InvalidInput, match="déjà un filtre nommé"):
        services.rename_filter(actor=personas["cnil"], filter_id=other.pk, name="Retards")
    assert SavedFilter.objects.filter(user=personas["cnil"]).count() == 2


def test_another_users_filter_is_not_found_and_an_applicant_saves_none(personas):
    mine = services.save_filter(actor=personas["cnil"], name="Retards", query="status=late")
    with pytest.raises(NotFound):
        services.rename_filter(actor=personas["cesrees"], filter_id=mine.pk, name="Volé")
    with pytest.raises(NotFound):
        services.delete_filter(actor=personas["cesrees"], filter_id=mine.pk)
    with pytest.raises(ActionNotPermitted):
        services.save_filter(actor=personas["applicant"], name="Mes demandes", query="")
    with pytest.raises(InvalidInput, match="Donnez un nom"):
        services.save_filter(actor=personas["cnil"], name="   ", query="")
    assert SavedFilter.objects.get().name == "Retards"


# --- pages --------------------------------------------------------------------------------------
def test_a_reviewer_saves_the_current_filters_and_reopens_them_from_their_link(client, personas, dossiers):
    client.force_login(personas["secretariat"])
    response = save(client, "Méthodologies de référence", f"route={Route.REFERENCE_METHODOLOGY}&state=&page=2")
    query = f"route={Route.REFERENCE_METHODOLOGY}"
    assert (response.status_code, response["Location"]) == (303, f"{QUEUE}?{query}")
    saved = SavedFilter.objects.get(user=personas["secretariat"])
    assert (saved.name, saved.query) == ("Méthodologies de référence", query)

    page = client.get(QUEUE)
    link = reverse("backoffice:open_filter", args=[saved.pk])
    assert f'href="{link}"' in page.content.decode()
    reopened = client.get(link)
    assert (reopened.status_code, reopened["Location"]) == (302, f"{QUEUE}?{query}")
    listed = client.get(reopened["Location"])
    assert refs(listed) == {dossiers["mr"].reference}
    assert f'href="{link}" aria-current="true"' in listed.content.decode()


def test_saving_refuses_a_taken_name_or_invalid_filters_and_keeps_the_page(client, personas, dossiers):
    client.force_login(personas["secretariat"])
    assert save(client, "Retards", "status=late").status_code == 303
    taken = save(client, "Retards", "route=standard")
    assert taken.status_code == 400
    assert "déjà un filtre nommé « Retards »" in taken.content.decode()
    assert refs(taken) == {dossiers["standard"].reference}  # the queue, with its filters
    invalid = save(client, "Cassé", "state=bogus")
    assert invalid.status_code == 400
    assert "Certains filtres sont invalides : corrigez-les avant d&#x27;enregistrer." in invalid.content.decode()
    nameless = save(client, "", "route=standard")
    assert nameless.status_code == 400
    assert "Donnez un nom à ce filtre." in nameless.content.decode()
    assert list(SavedFilter.objects.values_list("name", flat=True)) == ["Retards"]


def test_a_saved_filter_posted_twice_is_saved_once(client, personas, dossiers):
    client.force_login(personas["secretariat"])
    data = with_form_token(client, {"name": "Retards"})
    url = reverse("backoffice:save_filter") + "?status=late"
    first, second = client.post(url, data), client.post(url, data)
    assert first.status_code == second.status_code == 303
    assert second["Location"] == first["Location"]
    assert SavedFilter.objects.count() == 1


def test_a_reviewer_renames_and_deletes_their_filters_on_their_page(client, personas, dossiers):
    mine = services.save_filter(actor=personas["secretariat"], name="Retards", query="status=late")
    other = services.save_filter(actor=personas["secretariat"], name="MR", query="route=reference_methodology")
    theirs = services.save_filter(actor=personas["cesrees"], name="Chez le CESREES", query="")
    client.force_login(personas["secretariat"])
    page = client.get(FILTERS).content.decode()
    assert "Retards" in page and "MR" in page and "Chez le CESREES" not in page

    taken = client.post(reverse("backoffice:rename_filter", args=[mine.pk]), with_form_token(client, {"name": "MR"}))
    assert taken.status_code == 400
    assert "déjà un filtre nommé « MR »" in taken.content.decode()
    renamed = client.post(reverse("backoffice:rename_filter", args=[mine.pk]),
                          with_form_token(client, {"name": "Objectif dépassé"}))
    assert (renamed.status_code, renamed["Location"]) == (303, FILTERS)
    deleted = client.post(reverse("backoffice:delete_filter", args=[other.pk]), with_form_token(client))
    assert deleted.status_code == 303
    assert list(SavedFilter.objects.order_by("pk").values_list("name", flat=True)) == [
        "Objectif dépassé", theirs.name]


def test_another_users_saved_filter_is_404_to_open_rename_or_delete(client, personas, dossiers):
    theirs = services.save_filter(actor=personas["cesrees"], name="Chez le CESREES", query="state=cesrees_review")
    client.force_login(personas["secretariat"])
    assert client.get(reverse("backoffice:open_filter", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("backoffice:rename_filter", args=[theirs.pk]),
                       with_form_token(client, {"name": "Volé"})).status_code == 404
    assert client.post(reverse("backoffice:delete_filter", args=[theirs.pk]), with_form_token(client)).status_code == 404
    assert SavedFilter.objects.get(pk=theirs.pk).name == "Chez le CESREES"
    assert "Chez le CESREES" not in client.get(QUEUE).content.decode()


def test_a_stored_value_that_no_longer_validates_opens_with_a_message_naming_it(client, personas, dossiers):
    gone = Dataset.objects.create(code="ephemere", name="Base éphémère", holder=datasets("snds")[0].holder)
    saved = services.save_filter(actor=personas["secretariat"], name="Base retirée",
                                 query=f"route=standard&dataset={gone.pk}")
    gone.delete()
    client.force_login(personas["secretariat"])
    response = client.get(reverse("backoffice:open_filter", args=[saved.pk]), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Le filtre « Base retirée » contient une valeur qui n&#x27;est plus valable (Base demandée)" in html
    assert refs(response) == {dossiers["standard"].reference}  # the valid part still applies


def test_a_stored_query_tampered_with_opens_never_a_500(client, personas, dossiers):
    saved = SavedFilter.objects.create(user=personas["secretariat"], name="Abîmé",
                                       query="state=bogus&sort=x;DROP&submitted_from=2025-13-45&%ZZ=&scope=everything"
                                             "&q=avc\r\nSet-Cookie: x=1")
    client.force_login(personas["secretariat"])
    redirect = client.get(reverse("backoffice:open_filter", args=[saved.pk]))
    assert "\n" not in redirect["Location"] and "Set-Cookie" not in redirect.headers
    response = client.get(redirect["Location"])
    assert response.status_code == 200
    assert "n&#x27;est plus valable (Demandes, État, Déposée à partir du, Trier par)" in response.content.decode()


def test_the_saved_filters_pages_are_for_the_back_office_only(client, personas):
    assert client.get(FILTERS)["Location"].startswith("/accounts/login/")
    client.force_login(personas["applicant"])
    assert client.get(FILTERS).status_code == 403
    assert save(client, "Mes demandes").status_code == 403
    assert not SavedFilter.objects.exists()


def test_the_queue_runs_the_same_number_of_queries_with_more_saved_filters_and_follows(client, personas,
                                                                                       make_request):
    reviewer = personas["cnam"]
    client.force_login(reviewer)
    first = make_request(State.CONTRACTING)
    request_services.follow(request_id=first.pk, actor=reviewer)
    services.save_filter(actor=reviewer, name="Un", query="scope=followed")
    materialise_all()

    def count(**params) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(QUEUE, params)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    count()  # a first page caches the site configuration (as on a server)
    small = (count(), count(scope="followed"))
    for index in range(6):
        request = make_request(State.CONTRACTING)
        request_services.follow(request_id=request.pk, actor=reviewer)
        services.save_filter(actor=reviewer, name=f"Filtre {index}", query=f"q={index}")
    materialise_all()
    large = (count(), count(scope="followed"))
    assert small == large


def test_the_saved_filters_and_following_read_in_english(client, personas, dossiers, language_restored):
    saved = services.save_filter(actor=personas["secretariat"], name="Retards", query="status=late")
    client.force_login(personas["secretariat"])
    queue = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My filters" in queue and "Dossiers I follow" in queue and "Save the current filters" in queue
    assert "Mes filtres" not in queue and "Enregistrer ce filtre" not in queue
    page = client.get(FILTERS, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My saved filters" in page and "New name" in page and "Retards" in page
    assert "Nouveau nom" not in page and "Supprimer" not in page
    detail = client.get(reverse("backoffice:detail", args=[dossiers["mr"].reference]),
                        HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Follow this request" in detail and "Suivre cette demande" not in detail
    gone = SavedFilter.objects.create(user=personas["secretariat"], name="Broken", query="state=bogus")
    opened = client.get(reverse("backoffice:open_filter", args=[gone.pk]), HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "The filter “Broken” holds a value that is no longer valid (Status)" in opened.content.decode()
    assert saved.pk != gone.pk


def test_a_data_holder_saves_the_filters_of_its_task_queue_and_reopens_them(client, personas):
    """A data holder's queue lists its tasks; its "Mes filtres" saves and lists filters as the
    secretariat's does (the form used to lack its field there)."""
    client.force_login(personas["cnam"])
    page = client.get(QUEUE)
    assert page.context["task_queue"] and 'name="name"' in page.content.decode()
    response = save(client, "Mes tâches en retard", "badge=overdue")
    assert response.status_code == 303
    saved = SavedFilter.objects.get(user=personas["cnam"])
    assert saved.query == "badge=overdue"
    page = client.get(QUEUE + "?badge=overdue")
    assert page.context["task_queue"]
    assert [item["current"] for item in page.context["saved_filters"]] == [True]
    assert "Mes tâches en retard" in page.content.decode()


def test_a_data_holder_saving_a_filter_without_a_name_gets_its_queue_back_with_the_error(client, personas):
    client.force_login(personas["cnam"])
    response = save(client, "")
    assert response.status_code == 400
    assert response.context["task_queue"] and response.context["save_form"].errors
    assert not SavedFilter.objects.filter(user=personas["cnam"]).exists()
