"""Every table's scroll container can be reached with the keyboard and says what it holds (issue 14,
RGAA 7.3 / WCAG 2.1.1): ``tabindex="0"``, ``role="region"`` and ``aria-labelledby`` naming the
table's caption. The browser test (tests/e2e/test_accessibility.py) runs axe's
scrollable-region-focusable rule on the same pages."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from access_requests import services
from access_requests.models import Attachment
from access_requests.workflow import State
from accounts.models import MembershipRequest
from tests.conftest import make_user, use_private_media
from tests.portal.conftest import upload

pytestmark = pytest.mark.django_db

CONTAINER = re.compile(r'<div class="fr-table__container"([^>]*)>')


def containers(html: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'([a-z-]+)="([^"]*)"', attributes)) for attributes in CONTAINER.findall(html)]


def assert_reachable_and_named(html: str, where: str) -> int:
    found = containers(html)
    for attributes in found:
        assert attributes.get("tabindex") == "0", (where, attributes)
        assert attributes.get("role") == "region", (where, attributes)
        caption = attributes.get("aria-labelledby", "")
        assert re.search(rf'<caption id="{re.escape(caption)}">[^<]+</caption>', html), (where, caption)
    assert len({a["aria-labelledby"] for a in found}) == len(found), where  # one name per table
    return len(found)


def test_every_table_container_of_every_page_is_focusable_and_named(client, make_request, personas, organisation,
                                                                     settings, tmp_path, monkeypatch):
    use_private_media(settings, tmp_path, monkeypatch)
    request = make_request(State.AWAITING_APPLICANT, paused_from=State.CESREES_REVIEW)
    services.add_attachment(request_id=request.pk, actor=personas["applicant"], kind="other", uploaded=upload())
    newcomer = make_user("nouveau@inserm.example")
    MembershipRequest.objects.create(user=newcomer, organisation=organisation)
    assert Attachment.objects.filter(request=request).exists()
    pages = {
        None: {"/cookies/": 1},
        "applicant": {reverse("portal:list"): 1, reverse("portal:detail", args=[request.reference]): 2,
                      reverse("accounts:organisation"): 1},
        "secretariat": {reverse("backoffice:queue") + "?scope=all": 1, reverse("backoffice:detail", args=[request.reference]): 1,
                        reverse("backoffice:organisations"): 2},
        "management": {reverse("backoffice:delays"): 5},
    }
    for who, expected in pages.items():
        client.logout()
        if who:
            client.force_login(personas[who])
        for address, count in expected.items():
            response = client.get(address)
            assert response.status_code == 200, address
            assert assert_reachable_and_named(response.content.decode(), address) >= count, address
