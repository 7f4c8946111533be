"""Every portal page as the owner, a colleague, another applicant and an anonymous visitor."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access_requests import services
from access_requests.workflow import State
from tests.conftest import with_form_token
from tests.portal.conftest import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(make_request, applicant):
    request = make_request(State.DRAFT)
    attachment = services.add_attachment(request_id=request.pk, actor=applicant, uploaded=upload(), kind="protocol")
    return request, attachment


def _pages(request, attachment):
    ref = request.reference
    return {
        "list": ("get", reverse("portal:list"), {}),
        "create": ("get", reverse("portal:create"), {}),
        "detail": ("get", reverse("portal:detail", args=[ref]), {}),
        "edit": ("get", reverse("portal:edit", args=[ref]), {}),
        "withdraw": ("get", reverse("portal:withdraw", args=[ref]), {}),
        "download": ("get", reverse("portal:download", args=[attachment.pk]), {}),
    }


def _actions(request, attachment):
    ref = request.reference
    return {
        "upload": ("post", reverse("portal:upload", args=[ref]), {"kind": "protocol", "file": upload()}),
        "submit": ("post", reverse("portal:submit", args=[ref]), {"expected_state": "draft", "certify": "on"}),
        "answer": ("post", reverse("portal:answer", args=[ref]), {"expected_state": "draft", "answer": "Voici"}),
        "withdraw": ("post", reverse("portal:withdraw", args=[ref]), {"expected_state": "draft"}),
        "edit": ("post", reverse("portal:edit", args=[ref]), {"title": "Piraté", "route": "standard"}),
        "remove": ("post", reverse("portal:remove_attachment", args=[attachment.pk]), {}),
    }


PAGE_NAMES = ["list", "create", "detail", "edit", "withdraw", "download"]
ACTION_NAMES = ["upload", "submit", "answer", "withdraw", "edit", "remove"]


@pytest.mark.parametrize("name", PAGE_NAMES)
@pytest.mark.parametrize("who", ["applicant", "colleague"])
def test_owner_and_colleague_open_every_portal_page(client, draft, personas, who, name):
    method, url, data = _pages(*draft)[name]
    client.force_login(personas[who])
    response = getattr(client, method)(url, data)
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["detail", "edit", "withdraw", "download"])
def test_another_applicant_gets_404_on_every_page_of_a_request(client, draft, outsider, name):
    method, url, data = _pages(*draft)[name]
    client.force_login(outsider)
    assert getattr(client, method)(url, data).status_code == 404


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_another_applicant_gets_404_on_every_action_and_nothing_changes(client, draft, outsider, name):
    request, attachment = draft
    method, url, data = _actions(request, attachment)[name]
    client.force_login(outsider)
    # With a valid token of their own (from a form of their own): the request is still not theirs.
    assert getattr(client, method)(url, with_form_token(client, data)).status_code == 404
    request.refresh_from_db()
    assert request.state == State.DRAFT and request.title == "Parcours de soins après un AVC"
    assert request.attachments.count() == 1


def test_another_applicant_does_not_see_the_request_in_their_list(client, draft, outsider):
    client.force_login(outsider)
    response = client.get(reverse("portal:list"))
    assert response.status_code == 200
    assert draft[0].reference not in response.content.decode()


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, draft, name):
    method, url, data = _pages(*draft)[name]
    response = getattr(client, method)(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_anonymous_actions_are_sent_to_the_login_page_and_change_nothing(client, draft, name):
    request, attachment = draft
    method, url, data = _actions(request, attachment)[name]
    response = getattr(client, method)(url, data)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    request.refresh_from_db()
    assert request.state == State.DRAFT and request.attachments.count() == 1


def test_a_reviewer_reads_no_draft_nor_its_pieces_in_the_portal(client, draft, secretariat, cnam, management):
    request, attachment = draft
    for reviewer in (secretariat, cnam, management):
        client.force_login(reviewer)
        assert client.get(reverse("portal:download", args=[attachment.pk])).status_code == 404
        assert client.get(reverse("portal:detail", args=[request.reference])).status_code == 404


def test_an_unknown_reference_is_a_404(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("portal:detail", args=["HDH-1999-9999"])).status_code == 404
    assert client.get(reverse("portal:download", args=[999999])).status_code == 404


def test_every_portal_form_refuses_a_post_without_csrf_token(draft, applicant):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(applicant)
    request, attachment = draft
    for method, url, data in [*_actions(request, attachment).values(), ("post", reverse("portal:create"), {"title": "X"})]:
        assert getattr(client, method)(url, data).status_code == 403, url
    request.refresh_from_db()
    assert request.state == State.DRAFT and request.attachments.count() == 1
