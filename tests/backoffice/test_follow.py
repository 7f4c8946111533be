"""Following a dossier: a reviewer who may act on it follows it from its page, stops following
it, and finds the dossiers they follow under the queue's "Mes dossiers suivis"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access_requests import services
from access_requests.exceptions import ActionNotPermitted
from access_requests.models import Follow
from access_requests.workflow import State
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)
from tests.conftest import with_form_token

QUEUE = reverse("backoffice:queue")


def detail(request) -> str:
    return reverse("backoffice:detail", args=[request.reference])


def test_a_reviewer_follows_a_dossier_once_and_stops_following_it(personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    first = services.follow(request_id=request.pk, actor=personas["secretariat"])
    again = services.follow(request_id=request.pk, actor=personas["secretariat"])
    assert first.pk == again.pk
    assert Follow.objects.filter(request=request).count() == 1
    assert services.unfollow(request_id=request.pk, actor=personas["secretariat"]) is True
    assert services.unfollow(request_id=request.pk, actor=personas["secretariat"]) is False
    assert not Follow.objects.exists()


@pytest.mark.parametrize("who", ["applicant", "management", "curie"])
def test_only_a_reviewer_who_may_act_on_the_dossier_follows_it(personas, make_request, who):
    request = make_request(State.CONTRACTING)  # SNDS and OSCOUR: the CNAM's, not Curie's
    with pytest.raises(ActionNotPermitted):
        services.follow(request_id=request.pk, actor=personas[who])
    assert not Follow.objects.exists()
    services.follow(request_id=request.pk, actor=personas["cnam"])
    assert Follow.objects.get().user == personas["cnam"]


def test_the_dossiers_page_follows_and_unfollows(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["cnil"])
    page = client.get(detail(request)).content.decode()
    assert "Suivre cette demande" in page and "Ne plus suivre" not in page

    response = client.post(reverse("backoffice:follow", args=[request.reference]), with_form_token(client))
    assert (response.status_code, response["Location"]) == (303, detail(request))
    page = client.get(detail(request)).content.decode()
    assert "Vous suivez la demande" in page  # the confirmation
    assert "Ne plus suivre" in page and "Suivre cette demande" not in page

    response = client.post(reverse("backoffice:unfollow", args=[request.reference]), with_form_token(client))
    assert response.status_code == 303
    assert not Follow.objects.exists()
    assert "Suivre cette demande" in client.get(detail(request)).content.decode()


def test_management_reads_the_dossier_without_a_follow_button(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["management"])
    page = client.get(detail(request)).content.decode()
    assert "Suivre cette demande" not in page


def test_the_followed_filter_lists_the_users_followed_dossiers_only(client, personas, make_request):
    followed = make_request(State.CNIL_REVIEW)
    elsewhere = make_request(State.CONTRACTING)
    make_request(State.CNIL_REVIEW)
    followed_by_another = make_request(State.SUBMITTED)
    services.follow(request_id=followed.pk, actor=personas["secretariat"])
    services.follow(request_id=elsewhere.pk, actor=personas["secretariat"])
    services.follow(request_id=followed_by_another.pk, actor=personas["cesrees"])
    materialise_all()
    client.force_login(personas["secretariat"])
    response = client.get(QUEUE, {"scope": "followed"})
    assert response.status_code == 200
    assert {row["request"].reference for row in response.context["rows"]} == {followed.reference, elsewhere.reference}
    assert "Mes dossiers suivis" in response.content.decode()
    narrowed = client.get(QUEUE, {"scope": "followed", "state": State.CONTRACTING})
    assert [row["request"].reference for row in narrowed.context["rows"]] == [elsewhere.reference]


def test_a_follower_who_lost_access_no_longer_lists_the_dossier(client, personas, make_request):
    request = make_request(State.CONTRACTING)
    services.follow(request_id=request.pk, actor=personas["cnam"])
    materialise_all()
    client.force_login(personas["cnam"])
    assert len(client.get(QUEUE, {"scope": "followed"}).context["rows"]) == 1
    profile = personas["cnam"].profile
    profile.data_holder = personas["curie"].profile.data_holder
    profile.save()
    assert client.get(QUEUE, {"scope": "followed"}).context["rows"] == []
    assert client.get(detail(request)).status_code == 404
